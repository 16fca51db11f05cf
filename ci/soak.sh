#!/usr/bin/env bash
# Soak test: starts dt-mock (release build) with a small journal, drives mixed
# signed, refused and admin traffic at it for DURATION seconds (ci/soak.py), and
# fails on any 5xx, a lost connection, a panic in the mock's log, or (runs of 60 s
# and more) resident memory growing more than 10% after warm-up.
#
# Usage: ci/soak.sh [DURATION_SECONDS]   (default 60)
#   DT_BIN_DIR        where dt-mock is (default: cargo build --release)
#   DT_SOAK_WORKERS   concurrent client threads (default 8)
#   DT_SOAK_JSON      also write the summary as JSON to this file
set -euo pipefail

duration="${1:-60}"
root="$(cd "$(dirname "$0")/.." && pwd)"
if [ -z "${DT_BIN_DIR:-}" ]; then
  (cd "$root" && cargo build --release -q -p dt-mock)
  DT_BIN_DIR="$root/target/release"
fi

work="$(mktemp -d)"
public="soak-public-$$"
private="soak-private-$RANDOM$RANDOM"
capacity=500

DT_MOCK_TOKENS="$public:$private" DT_MOCK_LOG=warn "$DT_BIN_DIR/dt-mock" \
  --listen 127.0.0.1:0 --journal-capacity "$capacity" >"$work/out" 2>"$work/err" &
mock_pid=$!
cleanup() {
  kill "$mock_pid" 2>/dev/null || true
  wait "$mock_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

url=""
for _ in $(seq 1 300); do
  url="$(sed -n 's/^listening on //p' "$work/out" | head -n 1)"
  [ -n "$url" ] && break
  if ! kill -0 "$mock_pid" 2>/dev/null; then
    echo "dt-mock exited before listening:" >&2
    cat "$work/err" >&2
    exit 2
  fi
  sleep 0.1
done
[ -n "$url" ] || { echo "dt-mock did not print 'listening on' within 30 s" >&2; exit 2; }
echo "== soak: ${duration}s against dt-mock at $url (pid $mock_pid, journal capacity $capacity)"

status=0
python3 "$root/ci/soak.py" --url "$url" --pid "$mock_pid" --public "$public" \
  --private "$private" --duration "$duration" --workers "${DT_SOAK_WORKERS:-8}" \
  --journal-capacity "$capacity" ${DT_SOAK_JSON:+--json "$DT_SOAK_JSON"} || status=$?

if grep -q "panicked" "$work/err"; then
  echo "FAIL: the mock panicked:" >&2
  grep -A3 "panicked" "$work/err" | head -n 20 >&2
  status=1
fi
if grep -q "$private" "$work/err" "$work/out"; then
  echo "FAIL: the private token appears in the mock's output" >&2
  status=1
fi
exit "$status"
