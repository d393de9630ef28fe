# What ClickHouse 26 (embedded by the chdb package) spends inserting llmtrace's span rows:
# 30 RowBinary inserts of 10,000 rows (the files rows0.bin .. rows9.bin, each inserted three
# times), then 8 s for merges; prints the process CPU. Make the files with
#   ROWS_DIR=/tmp/rows bash bench/run-clickhouse.sh 1000000 128
# and run   .venv-chdb/bin/python bench/chdb-floor.py /tmp/rows
import sys, time, resource, os, shutil
from chdb import session
rows = sys.argv[1]
d = os.path.join(rows, 'chdb-session')
shutil.rmtree(d, ignore_errors=True)
S = session.Session(d)
S.query("CREATE DATABASE IF NOT EXISTS l")
S.query("""CREATE TABLE l.spans (
    project String, trace_id String, span_id String, parent_span_id String, name String,
    service LowCardinality(String), kind UInt8, is_call UInt8, not_root UInt8, root_key String,
    start_ns UInt64, end_ns UInt64, status UInt8, provider LowCardinality(String),
    operation LowCardinality(String), model LowCardinality(String), request_model LowCardinality(String),
    response_model LowCardinality(String), user_id String, session_id String,
    input_tokens UInt64, output_tokens UInt64, cache_read_tokens UInt64, cache_write_tokens UInt64,
    reasoning_tokens UInt64, counts_usage UInt8, cost_computed Nullable(Int64), cost_reported Nullable(Int64),
    unpriced UInt8, price_id Nullable(String), price_effective_from Nullable(String), incomplete UInt8,
    response_id String, claim_key String, detail String CODEC(ZSTD(1)), resource String CODEC(ZSTD(1)),
    version UInt64, search_text String CODEC(ZSTD(1)), expire_at DateTime DEFAULT toDateTime(4294967295)
) ENGINE = ReplacingMergeTree(version) ORDER BY (project, trace_id, span_id)
SETTINGS index_granularity = 1024""")
def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF); return r.ru_utime + r.ru_stime
c0=cpu(); t0=time.time()
for rep in range(3):
    for k in range(10):
        S.query(f"INSERT INTO l.spans FROM INFILE '{rows}/rows{k}.bin' FORMAT RowBinary")
t1=time.time(); c1=cpu()
print("inserts: wall %.2f s, cpu %.2f s for 300k rows" % (t1-t0, c1-c0))
time.sleep(8)
c2=cpu()
print("after 8 s of merges: cpu %.2f s" % (c2-c0), S.query("SELECT count(), count() FROM system.parts WHERE table='spans' AND active", "CSV"))
