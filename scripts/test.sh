#!/usr/bin/env bash
# Runs the whole llmtrace test suite on a fresh machine: installs what the tests need (a pinned
# Python venv with the real OpenTelemetry SDK for the interop tests), then every Rust test.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=.venv-interop
REQ=tests/interop/requirements.txt
if [[ ! -x $VENV/bin/python ]] || ! cmp -s "$REQ" "$VENV/.requirements.txt"; then
  echo "==> creating $VENV from $REQ"
  rm -rf "$VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check -r "$REQ"
  cp "$REQ" "$VENV/.requirements.txt"
fi
export LLMTRACE_PYTHON="$PWD/$VENV/bin/python"

# Debian packages the tests drive: curl; Prometheus (with promtool) for the metrics and
# alert-rule tests; ClickHouse for the ClickHouse store; Chromium and chromedriver for the UI.
need=()
command -v curl >/dev/null || need+=(curl)
command -v promtool >/dev/null || need+=(prometheus)
command -v clickhouse-server >/dev/null || need+=(clickhouse-server clickhouse-client)
command -v chromedriver >/dev/null || need+=(chromium chromium-driver)
if ((${#need[@]})); then
  echo "==> installing ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

echo "==> cargo test"
cargo test --workspace --all-targets -j2 "$@"
