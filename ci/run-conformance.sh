#!/usr/bin/env bash
# Start dt-mock in the background, wait for its `listening on` line, run the whole
# conformance suite against it with a JUnit report, and stop the mock.
#
# Usage: ci/run-conformance.sh [JUNIT_FILE] [-- extra dt-conformance args]
#   DT_BIN_DIR   where dt-mock and dt-conformance are (default: build them with cargo)
#   DT_MOCK_ARGS extra arguments for dt-mock (e.g. "--world fixtures/worlds/big")
# Exits with dt-conformance's status: 0 when every case passed.
set -euo pipefail

junit="${1:-conformance-junit.xml}"
shift || true
[ "${1:-}" = "--" ] && shift

root="$(cd "$(dirname "$0")/.." && pwd)"
if [ -z "${DT_BIN_DIR:-}" ]; then
  (cd "$root" && cargo build --release -q -p dt-mock -p dt-conformance)
  DT_BIN_DIR="$root/target/release"
fi

work="$(mktemp -d)"
log="$work/dt-mock.out"
public="ci-public-$$"
private="ci-private-$RANDOM$RANDOM"

# shellcheck disable=SC2086
DT_MOCK_TOKENS="$public:$private" "$DT_BIN_DIR/dt-mock" --listen 127.0.0.1:0 ${DT_MOCK_ARGS:-} >"$log" 2>"$work/dt-mock.err" &
mock_pid=$!
cleanup() {
  kill "$mock_pid" 2>/dev/null || true
  wait "$mock_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

url=""
for _ in $(seq 1 300); do
  url="$(sed -n 's/^listening on //p' "$log" | head -n 1)"
  [ -n "$url" ] && break
  if ! kill -0 "$mock_pid" 2>/dev/null; then
    echo "dt-mock exited before listening:" >&2
    cat "$work/dt-mock.err" >&2
    exit 2
  fi
  sleep 0.1
done
[ -n "$url" ] || { echo "dt-mock did not print 'listening on' within 30 s" >&2; exit 2; }
echo "dt-mock listening on $url"

status=0
DT_API_KEY="$public" DT_API_SECRET="$private" \
  "$DT_BIN_DIR/dt-conformance" all --url "$url" --junit "$junit" "$@" || status=$?
echo "JUnit report: $junit"
exit "$status"
