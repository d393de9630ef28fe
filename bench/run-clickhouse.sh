#!/usr/bin/env bash
# End-to-end benchmark on the ClickHouse store: a fresh clickhouse-server on a temp dir, llmtrace
# on it, N spans from the load generator, then query latency with wrk.
#   bash bench/run-clickhouse.sh [TOTAL_SPANS=1000000] [CONNECTIONS=16]
# ROWS_DIR=DIR keeps 10 files of 10,000 stored span rows (RowBinary) for bench/chdb-floor.py.
# FILL=direct: fill the store with llmtrace-storefill instead of over HTTP (traces spread over 30
# days), for the query benchmarks at 10M-100M spans; CH_DIR=DIR keeps the server's data there
# (kept after the run; an existing one is reused: no fill, no ingest, only the pages).
# BIN=path: the server binary to measure (default target/release/llmtrace).
# Needs: cargo build --release -p llmtrace -p llmtrace-loadgen (-p llmtrace-storefill); wrk;
# clickhouse-server.
set -euo pipefail
cd "$(dirname "$0")/.."
TOTAL=${1:-1000000}
CONN=${2:-16}
PORT=${PORT:-25318}
CH_HTTP=${CH_HTTP:-28123}
CH_TCP=${CH_TCP:-29000}
BIN=${BIN:-target/release/llmtrace}
REUSE=
if [[ -n ${CH_DIR:-} ]]; then
  CH=$CH_DIR
  [[ -d $CH/data/metadata/llmtrace ]] && REUSE=1
  KEEP_CH=1
else
  CH=$(mktemp -d /tmp/llmtrace-bench-ch.XXXX)
  KEEP_CH=
fi
mkdir -p "$CH"/{data,tmp,user_files,log}
cleanup_ch() { [[ -n $KEEP_CH ]] || rm -rf "$CH"; }
cat > "$CH/users.xml" <<'XML'
<?xml version="1.0"?>
<yandex><profiles><default><max_memory_usage>4000000000</max_memory_usage><log_queries>1</log_queries></default></profiles>
<users><default><password></password><networks><ip>127.0.0.1</ip></networks><profile>default</profile><quota>default</quota></default></users>
<quotas><default></default></quotas></yandex>
XML
cat > "$CH/config.xml" <<XML
<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><log>$CH/log/server.log</log><errorlog>$CH/log/err.log</errorlog></logger>
  <listen_host>127.0.0.1</listen_host><http_port>$CH_HTTP</http_port><tcp_port>$CH_TCP</tcp_port>
  <path>$CH/data/</path><tmp_path>$CH/tmp/</tmp_path><user_files_path>$CH/user_files/</user_files_path>
  <users_config>$CH/users.xml</users_config><default_profile>default</default_profile>
  <default_database>default</default_database><mark_cache_size>268435456</mark_cache_size>
</yandex>
XML
clickhouse-server --config-file="$CH/config.xml" >"$CH/log/stdout.log" 2>&1 &
CHPID=$!
trap 'kill $CHPID 2>/dev/null || true; cleanup_ch' EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$CH_HTTP/ping" >/dev/null && break; sleep 0.1; done
if [[ ${FILL:-} == direct && -z $REUSE ]]; then
  echo "== fill $TOTAL spans straight through the ingest path (llmtrace-storefill)"
  target/release/llmtrace-storefill --clickhouse "http://127.0.0.1:$CH_HTTP/llmtrace" --spans "$TOTAL"
fi
DATA=$(mktemp -d)
$BIN serve --store "clickhouse://127.0.0.1:$CH_HTTP/llmtrace" --data-dir "$DATA" \
  --http-listen 127.0.0.1:$PORT --grpc-listen 127.0.0.1:$((PORT - 1)) --log warn &
PID=$!
trap 'kill $PID $CHPID 2>/dev/null || true; wait $CHPID 2>/dev/null || true; cleanup_ch; rm -rf "$DATA"' EXIT
for _ in $(seq 100); do curl -sf http://127.0.0.1:$PORT/healthz >/dev/null && break; sleep 0.1; done
echo "== machine: $(nproc) cores; ClickHouse $(curl -s "http://127.0.0.1:$CH_HTTP/?query=SELECT%20version()")"
cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; }   # user + system CPU, 1/100 s
if [[ ${FILL:-} != direct && -z $REUSE ]]; then
echo "== ingest $TOTAL spans, $CONN connections"
CH_CPU0=$(cpu $CHPID); LT_CPU0=$(cpu $PID)
target/release/llmtrace-loadgen --url http://127.0.0.1:$PORT/v1/traces --connections "$CONN" \
  --requests $((TOTAL / 100)) --duration 3600 --server-pid $PID | tail -n 12
CH_CPU1=$(cpu $CHPID); LT_CPU1=$(cpu $PID)
echo "== CPU during ingest: ClickHouse $(( (CH_CPU1 - CH_CPU0) * 10000 / (TOTAL / 1000) )) ns/span, llmtrace $(( (LT_CPU1 - LT_CPU0) * 10000 / (TOTAL / 1000) )) ns/span"
fi
sleep 2
echo "== spans stored: $(curl -s "http://127.0.0.1:$CH_HTTP/?query=SELECT%20count()%20FROM%20llmtrace.spans%20FINAL")"
echo "== ClickHouse time by statement kind during ingest (system.query_log)"
curl -s "http://127.0.0.1:$CH_HTTP/" --data-binary "SYSTEM FLUSH LOGS" >/dev/null
curl -s "http://127.0.0.1:$CH_HTTP/" --data-binary "SELECT substring(query, 1, 40) AS q, count() AS n, round(sum(query_duration_ms) / 1000, 1) AS total_s, round(avg(query_duration_ms)) AS avg_ms, round(avg(read_rows)) AS avg_read_rows FROM system.query_log WHERE type = 2 AND query NOT LIKE '%query_log%' GROUP BY q ORDER BY total_s DESC LIMIT 8 FORMAT PrettyCompactNoEscapes"
echo "== ClickHouse bytes on disk: $(curl -s "http://127.0.0.1:$CH_HTTP/?query=SELECT%20sum(bytes_on_disk)%20FROM%20system.parts%20WHERE%20database='llmtrace'%20AND%20active")"
curl -s "http://127.0.0.1:$CH_HTTP/?query=SELECT%20DISTINCT%20trace_id%20FROM%20llmtrace.spans%20LIMIT%202000" > /tmp/llmtrace-bench-ch-ids
# What ClickHouse alone spends on these rows: 300,000 of them (30 inserts of 10,000 stored spans,
# RowBinary, as the writer sends them) into a copy of the table, merges included.
if (( TOTAL >= 100000 )) && [[ ${FILL:-} != direct && -z $REUSE ]]; then
  Q() { curl -sf "http://127.0.0.1:$CH_HTTP/" --data-binary "$1"; }
  Q "CREATE TABLE llmtrace.floor_copy AS llmtrace.spans"
  for k in 0 1 2 3 4 5 6 7 8 9; do
    Q "SELECT * FROM llmtrace.spans LIMIT 10000 OFFSET $((k * 10000)) FORMAT RowBinary" > "$CH/rows$k.bin"
  done
  sleep 5
  F0=$(cpu $CHPID)
  for _ in 1 2 3; do for k in 0 1 2 3 4 5 6 7 8 9; do
    curl -sf "http://127.0.0.1:$CH_HTTP/?query=INSERT%20INTO%20llmtrace.floor_copy%20FORMAT%20RowBinary" --data-binary @"$CH/rows$k.bin"
  done; done
  for _ in $(seq 60); do [ "$(Q "SELECT count() FROM system.merges")" = 0 ] && break; sleep 1; done
  F1=$(cpu $CHPID)
  echo "== ClickHouse alone inserting 300,000 of these rows in 10,000-row RowBinary inserts, merges included: $(( (F1 - F0) * 10000 / 300 )) ns/span of CPU"
  if [[ -n "${ROWS_DIR:-}" ]]; then mkdir -p "$ROWS_DIR" && cp "$CH"/rows*.bin "$ROWS_DIR"/; fi
  Q "DROP TABLE llmtrace.floor_copy"
fi
DAY_AGO=$(date -u -d '-1 day' +%Y-%m-%dT%H:%M:%SZ)
MONTH_AGO=$(date -u -d '-30 day' +%Y-%m-%dT%H:%M:%SZ)
for q in "trace_by_id" "/api/traces?limit=50" "/api/traces?limit=50&model=gpt-4o" "/api/traces?limit=50&q=rotate" "/api/traces?limit=50&q=nosuchword" "/api/traces?limit=50&sort=cost" "/" \
  "/models" "/dashboard" "/dashboard?since=$MONTH_AGO" "/api/stats?group_by=model" "/api/stats?group_by=model&bucket=30m&since=$DAY_AGO" "/api/stats?group_by=model&bucket=1h&since=$MONTH_AGO" "/sessions" "/users"; do
  if [[ $q == trace_by_id ]]; then
    echo "== GET /api/traces/{random id}"
    TRACE_IDS=/tmp/llmtrace-bench-ch-ids wrk -t1 -c1 -d10s --timeout 30s --latency -s bench/scripts/random_trace.lua http://127.0.0.1:$PORT | grep -E "^ +(50|90|99)%|Requests/sec"
  else
    echo "== GET $q"
    wrk -t1 -c1 -d10s --timeout 30s --latency "http://127.0.0.1:$PORT$q" | grep -E "^ +(50|90|99)%|Requests/sec"
  fi
done
