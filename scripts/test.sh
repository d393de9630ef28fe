#!/usr/bin/env bash
# Runs the whole llmtrace test suite on a fresh machine: installs what the tests need (pinned
# Python venvs with the real SDKs for the interop tests, Debian packages), then every Rust test.
set -euo pipefail
cd "$(dirname "$0")/.."

# make_venv DIR REQUIREMENTS: a venv with the pinned packages, made again when the pins change.
make_venv() {
  local venv=$1 req=$2
  if [[ ! -x $venv/bin/python ]] || ! cmp -s "$req" "$venv/.requirements.txt"; then
    echo "==> creating $venv from $req"
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$req"
    cp "$req" "$venv/.requirements.txt"
  fi
}

# The real Python SDKs of the interop tests.
make_venv .venv-interop tests/interop/requirements.txt
export LLMTRACE_PYTHON="$PWD/.venv-interop/bin/python"
# LiteLLM with its OTel callbacks, and with the langfuse 4.x SDK its `langfuse` callback needs.
make_venv .venv-litellm tests/interop/litellm/requirements.txt
export LLMTRACE_LITELLM_PYTHON="$PWD/.venv-litellm/bin/python"
make_venv .venv-litellm-langfuse4 tests/interop/litellm/requirements-langfuse4.txt
export LLMTRACE_LITELLM_LANGFUSE4_PYTHON="$PWD/.venv-litellm-langfuse4/bin/python"
# chdb (an embedded current ClickHouse) for the ClickHouse store's suite on a current release.
make_venv .venv-chdb tests/chdb/requirements.txt
export LLMTRACE_CHDB_PYTHON="$PWD/.venv-chdb/bin/python"

# Debian packages the tests drive: curl; openssl; gzip and zstd (the memory probe's bombs);
# Prometheus (with promtool) for the metrics and alert-rule tests; ClickHouse for the ClickHouse
# store, and ZooKeeper (with Java) for its replicated cluster; Chromium and chromedriver for the UI, with a CJK font so the screenshots
# show the Chinese text the browser tests type.
need=()
command -v curl >/dev/null || need+=(curl)
command -v openssl >/dev/null || need+=(openssl)
command -v zstd >/dev/null || need+=(zstd)
command -v gzip >/dev/null || need+=(gzip)
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

# The Node interop suite: Node (Debian's nodejs when the machine has none) and the pinned
# packages of tests/interop/node, installed again when the lock file changes.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "==> installing nodejs npm"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi
NODE_DIR=tests/interop/node
if ! cmp -s "$NODE_DIR/package-lock.json" "$NODE_DIR/node_modules/.llmtrace-lock.json"; then
  echo "==> npm ci in $NODE_DIR"
  (cd "$NODE_DIR" && npm ci --no-audit --no-fund --loglevel=error)
  cp "$NODE_DIR/package-lock.json" "$NODE_DIR/node_modules/.llmtrace-lock.json"
fi

echo "==> cargo build --examples (the SDK's tests run its examples)"
cargo build -j2 -p llmtrace-sdk --examples

# The crates published to crates.io (llmtrace-semconv, llmtrace-sdk-macros, llmtrace-sdk): each
# must package and build from its package alone, and document without a rustdoc warning (missing
# docs included). The three are packaged together so the SDK's workspace dependencies resolve
# from the packages just made (a local registry), not from crates.io. `cargo publish --dry-run`
# packages and verifies each crate (as `cargo package` does) and also asks the crates.io index
# about it, uploading nothing. --allow-dirty: this checks packaging, not whether the tree is
# committed.
echo "==> cargo publish --dry-run (published crates) and their docs"
cargo publish --dry-run -j2 --allow-dirty -p llmtrace-semconv -p llmtrace-sdk-macros -p llmtrace-sdk
RUSTDOCFLAGS="-D warnings" cargo doc -j2 --no-deps --all-features \
  -p llmtrace-semconv -p llmtrace-sdk-macros -p llmtrace-sdk

echo "==> cargo test"
cargo test --workspace --all-targets -j2 "$@"
