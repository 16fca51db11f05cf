#!/usr/bin/env bash
# Run a real third-party client against dt-mock: install darktrace-sdk 0.10.1 from PyPI
# into a throwaway virtual environment, start dt-mock with a fresh token pair, wait for
# its `listening on` line, run ci/sdk_check.py against it, and stop the mock.
#
# Usage: ci/sdk-check.sh [-v]        (-v: tracebacks for failed calls)
#   DT_BIN_DIR    where dt-mock is (default: cargo build --release -p dt-mock)
#   DT_SDK_VENV   reuse this virtual environment (created when missing) instead of a
#                 temporary one, e.g. to avoid re-downloading the SDK on every run
#   DT_MOCK_ARGS  extra arguments for dt-mock
# Exits with sdk_check.py's status: 0 when every call passed.
set -euo pipefail

sdk_version="0.10.1"
root="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
mock_pid=""
cleanup() {
  if [ -n "$mock_pid" ]; then
    kill "$mock_pid" 2>/dev/null || true
    wait "$mock_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

venv="${DT_SDK_VENV:-$work/venv}"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
if ! "$venv/bin/python" -c "import importlib.metadata as m, sys; sys.exit(m.version('darktrace-sdk') != '$sdk_version')" 2>/dev/null; then
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "darktrace-sdk==$sdk_version"
fi
echo "darktrace-sdk $("$venv/bin/python" -c "import importlib.metadata as m; print(m.version('darktrace-sdk'))") in $venv"

if [ -z "${DT_BIN_DIR:-}" ]; then
  (cd "$root" && cargo build --release -q -p dt-mock)
  DT_BIN_DIR="$root/target/release"
fi

log="$work/dt-mock.out"
public="sdk-public-$$"
private="sdk-private-$RANDOM$RANDOM"
# shellcheck disable=SC2086
DT_MOCK_TOKENS="$public:$private" "$DT_BIN_DIR/dt-mock" --listen 127.0.0.1:0 ${DT_MOCK_ARGS:-} >"$log" 2>"$work/dt-mock.err" &
mock_pid=$!

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
"$venv/bin/python" "$root/ci/sdk_check.py" "$url" "$public" "$private" "$@" || status=$?
exit "$status"
