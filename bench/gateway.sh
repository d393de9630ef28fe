#!/usr/bin/env bash
# Gateway benchmark: added latency of a plain call and of the first streamed byte (direct to an
# in-process mock upstream vs through `llmtrace serve --gateway`), and stored spans/s at
# saturation.
#   bash bench/gateway.sh [CALLS=2000] [CONNECTIONS=32] [SECONDS=10]
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -j2 -p llmtrace -p llmtrace-gatewaybench
echo "== machine: $(nproc) cores, $(uptime)"
target/release/llmtrace-gatewaybench --llmtrace target/release/llmtrace \
  --calls "${1:-2000}" --connections "${2:-32}" --seconds "${3:-10}"
