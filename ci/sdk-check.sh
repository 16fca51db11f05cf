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
# shellcheck source=ci/lib.sh
. "$root/ci/lib.sh"
work="$(mktemp -d)"
trap 'stop_mock; rm -rf "$work"' EXIT

venv="${DT_SDK_VENV:-$work/venv}"
pip_venv "$venv" darktrace-sdk "$sdk_version"

mock_bin_dir dt-mock
public="sdk-public-$$"
private="sdk-private-$RANDOM$RANDOM"
# shellcheck disable=SC2086
DT_MOCK_TOKENS="$public:$private" start_mock "$work" ${DT_MOCK_ARGS:-}
url="$mock_url"
echo "dt-mock listening on $url"

status=0
"$venv/bin/python" "$root/ci/sdk_check.py" "$url" "$public" "$private" "$@" || status=$?
exit "$status"
