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

# chdb (an embedded current ClickHouse) for the ClickHouse store's suite on a current release.
CHDB_VENV=.venv-chdb
CHDB_REQ=tests/chdb/requirements.txt
if [[ ! -x $CHDB_VENV/bin/python ]] || ! cmp -s "$CHDB_REQ" "$CHDB_VENV/.requirements.txt"; then
  echo "==> creating $CHDB_VENV from $CHDB_REQ"
  rm -rf "$CHDB_VENV"
  python3 -m venv "$CHDB_VENV"
  "$CHDB_VENV/bin/pip" install --quiet --disable-pip-version-check -r "$CHDB_REQ"
  cp "$CHDB_REQ" "$CHDB_VENV/.requirements.txt"
fi
export LLMTRACE_CHDB_PYTHON="$PWD/$CHDB_VENV/bin/python"

# Debian packages the tests drive: curl; Prometheus (with promtool) for the metrics and
# alert-rule tests; ClickHouse for the ClickHouse store, and ZooKeeper (with Java) for its
# replicated cluster; Chromium and chromedriver for the UI, with a CJK font so the screenshots
# show the Chinese text the browser tests type.
need=()
command -v curl >/dev/null || need+=(curl)
command -v promtool >/dev/null || need+=(prometheus)
command -v clickhouse-server >/dev/null || need+=(clickhouse-server clickhouse-client)
[ -f /usr/share/java/zookeeper.jar ] || need+=(zookeeper)
command -v chromedriver >/dev/null || need+=(chromium chromium-driver)
[ -d /usr/share/fonts/opentype/noto ] || need+=(fonts-noto-cjk)
if ((${#need[@]})); then
  echo "==> installing ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

echo "==> cargo build --examples (the SDK's tests run its examples)"
cargo build -j2 -p llmtrace-sdk --examples

echo "==> cargo test"
cargo test --workspace --all-targets -j2 "$@"
