#!/usr/bin/env bash
# Makes the upgrade fixture of one SQLite schema version (or of several):
#
#   scripts/make-schema-fixture.sh 10        # the version HEAD writes, before adding migration 11
#   scripts/make-schema-fixture.sh 1 2 3     # older versions, from the commits that wrote them
#
# For each version it builds the newest commit of this repository whose store writes that schema
# version (HEAD for the current one) in a temporary git worktree, starts that build on a temporary
# data dir, sends it tests/fixtures/schema/traces.json over OTLP/HTTP, records what that build
# answers for every trace (`/api/traces/{id}`) and for the list (`/api/traces`), stops it, and
# keeps the database file:
#
#   tests/fixtures/schema/v<N>/llmtrace.db      the file as that version left it
#   tests/fixtures/schema/v<N>/answers.json     {version, commit, list, traces: {id: answer}}
#
# crates/llmtrace/tests/upgrade.rs opens each with the current binary and compares its answers.
# Run it once for the new version before a migration is added (the test asks for a fixture of
# every version up to the current one).
#
# Environment: FIXTURE_TARGET_DIR (cargo target dir for the old builds; default: the
# repository's target/, so dependencies already built are reused).
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
schema="crates/llmtrace-store-sqlite/src/schema.rs"
target="${FIXTURE_TARGET_DIR:-$root/target}"
payload="$root/tests/fixtures/schema/traces.json"
trace_ids=(a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1 b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2 c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3)

if [ $# -eq 0 ]; then
  echo "usage: $0 VERSION [VERSION ...]" >&2
  exit 2
fi

# How many migrations the schema file of a commit lists.
migrations_at() {
  git -C "$root" show "$1:$schema" 2>/dev/null |
    sed -n '/^const MIGRATIONS/,/^];/p' | grep -cE '^    (r#"|concat!\()' || true
}

# The newest commit (on HEAD's first-parent line) whose store writes schema version $1: the parent
# of the first commit that lists more migrations, or HEAD when none does yet.
commit_of_version() {
  local want="$1" c n
  for c in $(git -C "$root" log --reverse --format=%H -- "$schema"); do
    n="$(migrations_at "$c")"
    if [ "$n" -gt "$want" ]; then
      git -C "$root" rev-parse "$c^"
      return
    fi
  done
  n="$(migrations_at HEAD)"
  if [ "$n" -ne "$want" ]; then
    echo "schema version $want never existed (HEAD writes $n)" >&2
    return 1
  fi
  git -C "$root" rev-parse HEAD
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

make_one() {
  local version="$1" commit work data out hp gp pid
  commit="$(commit_of_version "$version")"
  if [ "$(migrations_at "$commit")" -ne "$version" ]; then
    echo "commit $commit does not write schema version $version" >&2
    return 1
  fi
  echo "== schema version $version: commit $(git -C "$root" log -1 --format='%h %s' "$commit" | cut -c1-90)"
  work="$(mktemp -d)"
  git -C "$root" worktree add --detach --quiet "$work/src" "$commit"
  trap 'kill "$pid" 2>/dev/null || true; git -C "$root" worktree remove --force "$work/src" || true; rm -rf "$work"' RETURN
  (cd "$work/src" && cargo build -j2 -p llmtrace --bin llmtrace --target-dir "$target/schema-fixtures")
  data="$work/data"
  hp="$(free_port)"
  gp="$(free_port)"
  LLMTRACE_LOG=warn "$target/schema-fixtures/debug/llmtrace" serve \
    --http-listen "127.0.0.1:$hp" --grpc-listen "127.0.0.1:$gp" --data-dir "$data" &
  pid=$!
  for _ in $(seq 1 600); do
    curl -sf "http://127.0.0.1:$hp/healthz" >/dev/null && break
    sleep 0.1
  done
  curl -sf -X POST -H 'content-type: application/json' --data-binary "@$payload" \
    "http://127.0.0.1:$hp/v1/traces" >/dev/null
  for id in "${trace_ids[@]}"; do
    for _ in $(seq 1 300); do
      curl -sf "http://127.0.0.1:$hp/api/traces/$id" >/dev/null && break
      sleep 0.1
    done
  done
  # Older builds acknowledged before their group commit: let every span land first.
  sleep 2
  out="$work/answers"
  mkdir -p "$out"
  curl -sf "http://127.0.0.1:$hp/api/traces?limit=100" >"$out/list.json"
  for id in "${trace_ids[@]}"; do
    curl -sf "http://127.0.0.1:$hp/api/traces/$id" >"$out/$id.json"
  done
  kill -TERM "$pid"
  wait "$pid" || true
  local dest="$root/tests/fixtures/schema/v$version"
  mkdir -p "$dest"
  # One self-contained file: fold any write-ahead log back in, then compact.
  python3 - "$data/llmtrace.db" "$dest/llmtrace.db" "$out" "$version" "$commit" "$dest/answers.json" <<'PY'
import json, os, sqlite3, sys
src, dst, out, version, commit, answers = sys.argv[1:]
con = sqlite3.connect(src)
con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
con.execute("PRAGMA journal_mode=DELETE")
con.close()
if os.path.exists(dst):
    os.remove(dst)
con = sqlite3.connect(src)
con.execute("VACUUM INTO ?", (dst,))
con.close()
traces = {}
for name in sorted(os.listdir(out)):
    if name != "list.json":
        traces[name[:-5]] = json.load(open(os.path.join(out, name)))
doc = {"version": int(version), "commit": commit,
       "list": json.load(open(os.path.join(out, "list.json"))), "traces": traces}
with open(answers, "w") as f:
    json.dump(doc, f, indent=1, sort_keys=True, ensure_ascii=False)
    f.write("\n")
PY
  echo "   $(du -h "$dest/llmtrace.db" | cut -f1) $dest/llmtrace.db"
}

for v in "$@"; do
  make_one "$v"
done
