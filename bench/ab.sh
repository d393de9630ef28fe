#!/usr/bin/env bash
# A/B of page latency on one store: two server binaries serve the same data dir in turn, and wrk
# (1 connection, 8 s) reads the same pages from each, ROUNDS times alternated (the machine's
# spread between runs is larger than most differences: compare medians).
#   OLD=/tmp/llmtrace-old NEW=target/release/llmtrace DATA=/tmp/llmtrace-bench bash bench/ab.sh
# DATA is a store left by bench/run.sh (its trace ids in /tmp/llmtrace-bench-ids).
set -euo pipefail
cd "$(dirname "$0")/.."
OLD=${OLD:?the previous binary}
NEW=${NEW:-target/release/llmtrace}
DATA=${DATA:-/tmp/llmtrace-bench}
ROUNDS=${ROUNDS:-4}
PORT=${PORT:-24400}
for round in $(seq "$ROUNDS"); do
  for side in old new; do
    if [[ $side == old ]]; then BIN=$OLD; else BIN=$NEW; fi
    $BIN serve --data-dir "$DATA" --http-listen 127.0.0.1:$PORT --grpc-listen 127.0.0.1:$((PORT - 1)) --log warn >/dev/null 2>&1 &
    PID=$!
    for _ in $(seq 100); do curl -sf http://127.0.0.1:$PORT/healthz >/dev/null && break; sleep 0.1; done
    for q in trace_page "/api/traces?limit=50" "/api/traces?limit=50&model=gpt-4o" "/" "/dashboard"; do
      if [[ $q == trace_page ]]; then
        r=$(TRACE_PREFIX=/traces/ TRACE_IDS=/tmp/llmtrace-bench-ids wrk -t1 -c1 -d8s --latency -s bench/scripts/random_trace.lua http://127.0.0.1:$PORT | grep -E "^ +50%")
      else
        r=$(wrk -t1 -c1 -d8s --latency "http://127.0.0.1:$PORT$q" | grep -E "^ +50%")
      fi
      echo "round $round $side $q $r"
    done
    kill $PID; wait $PID 2>/dev/null || true
  done
done
