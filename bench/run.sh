#!/usr/bin/env bash
# End-to-end benchmark: ingest N spans into a fresh SQLite store with the load generator, then
# measure query latency with wrk, disk bytes per span and RSS.
#   bash bench/run.sh [TOTAL_SPANS=1000000] [CONNECTIONS=16]
# FILL=direct: fill the store with llmtrace-storefill instead (the same ingest path without HTTP,
# traces spread over 30 days), for the query benchmarks at 10M-100M spans.
# Needs: cargo build --release -p llmtrace -p llmtrace-loadgen (-p llmtrace-storefill); wrk.
# BIN=path: the server binary to measure (default target/release/llmtrace), for A/B runs.
# FILL=reuse: keep the store already in DATA (filled by an earlier run) and measure it again.
set -euo pipefail
cd "$(dirname "$0")/.."
TOTAL=${1:-1000000}
CONN=${2:-16}
DATA=${DATA:-/tmp/llmtrace-bench}
PORT=${PORT:-24318}
BIN=${BIN:-target/release/llmtrace}
if [[ ${FILL:-} != reuse ]]; then
  rm -rf "$DATA"
fi
if [[ ${FILL:-} == direct ]]; then
  echo "== fill $TOTAL spans straight through the ingest path (llmtrace-storefill)"
  target/release/llmtrace-storefill --data-dir "$DATA" --spans "$TOTAL"
fi
$BIN serve --data-dir "$DATA" --http-listen 127.0.0.1:$PORT --grpc-listen 127.0.0.1:$((PORT - 1)) --log warn &
PID=$!
trap 'kill $PID 2>/dev/null || true' EXIT
for _ in $(seq 50); do curl -sf http://127.0.0.1:$PORT/healthz >/dev/null && break; sleep 0.1; done
echo "== machine: $(nproc) cores, $(uptime)"
echo "== idle RSS: $(grep VmRSS /proc/$PID/status)"
echo "== ingest $TOTAL spans, $CONN connections"
if [[ ${FILL:-} != direct && ${FILL:-} != reuse ]]; then
target/release/llmtrace-loadgen --url http://127.0.0.1:$PORT/v1/traces --connections "$CONN" \
  --requests $((TOTAL / 100)) --duration 3600 --server-pid $PID | tail -n 12
fi
sleep 2
echo "== RSS after ingest: $(grep VmRSS /proc/$PID/status)"
# The pages in use (what the file holds once the WAL is checkpointed), not the files' sizes:
# the WAL's size at this moment (up to its 64 MiB limit and beyond while a checkpoint waits)
# says nothing about the data. The files as they are, WAL included, are printed beside.
FILES=$(du -cb "$DATA"/llmtrace.db* | tail -1 | cut -f1)
BYTES=$(python3 -c "import sqlite3;c=sqlite3.connect('file:$DATA/llmtrace.db?mode=ro',uri=True);p=lambda n:c.execute('pragma '+n).fetchone()[0];print((p('page_count')-p('freelist_count'))*p('page_size'))")
SPANS=$(curl -s "http://127.0.0.1:$PORT/api/stats" >/dev/null; python3 -c "import sqlite3;print(sqlite3.connect('file:$DATA/llmtrace.db?mode=ro',uri=True).execute('select count(*) from spans').fetchone()[0])")
echo "== store: $BYTES bytes in use for $SPANS spans = $((BYTES / SPANS)) bytes/span (files with the WAL: $FILES bytes)"
python3 - "$DATA" > /tmp/llmtrace-bench-ids <<'PY'
import sqlite3, sys
c = sqlite3.connect(f"file:{sys.argv[1]}/llmtrace.db?mode=ro", uri=True)
for (t,) in c.execute("select hex(trace_id) from traces order by random() limit 2000"):
    print(t.lower())
PY
DAY_AGO=$(date -u -d '-1 day' +%Y-%m-%dT%H:%M:%SZ)
for q in "trace_by_id" "trace_page" "/api/traces?limit=50" "/api/traces?limit=50&model=gpt-4o" "/api/traces?limit=50&model=claude-haiku-4-5-20251001" \
  "/api/traces?limit=50&q=rotate" "/api/traces?limit=50&q=rotate+downtime" "/api/traces?limit=50&q=nosuchword" "/api/traces?limit=50&sort=duration" \
  "/" "/?model=gpt-4o" "/?q=rotate" "/models" "/dashboard" "/api/stats?bucket=30m&since=$DAY_AGO" "/sessions" "/users"; do
  if [[ $q == trace_by_id ]]; then
    echo "== GET /api/traces/{random id}"
    TRACE_IDS=/tmp/llmtrace-bench-ids wrk -t1 -c1 -d10s --latency -s bench/scripts/random_trace.lua http://127.0.0.1:$PORT | grep -E "^ +(50|90|99)%|Requests/sec"
  elif [[ $q == trace_page ]]; then
    echo "== GET /traces/{random id} (the UI's trace page)"
    TRACE_PREFIX=/traces/ TRACE_IDS=/tmp/llmtrace-bench-ids wrk -t1 -c1 -d10s --latency -s bench/scripts/random_trace.lua http://127.0.0.1:$PORT | grep -E "^ +(50|90|99)%|Requests/sec"
  else
    echo "== GET $q"
    wrk -t1 -c1 -d10s --latency "http://127.0.0.1:$PORT$q" | grep -E "^ +(50|90|99)%|Requests/sec"
  fi
done
kill $PID; wait $PID 2>/dev/null || true
trap - EXIT
$BIN serve --data-dir "$DATA" --http-listen 127.0.0.1:$PORT --grpc-listen 127.0.0.1:$((PORT - 1)) --log warn &
PID=$!
for _ in $(seq 100); do curl -sf http://127.0.0.1:$PORT/healthz >/dev/null && break; sleep 0.1; done
sleep 1
echo "== idle RSS after restart on the full store: $(grep VmRSS /proc/$PID/status)"
kill $PID; wait $PID 2>/dev/null || true
