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
# shellcheck source=ci/lib.sh
. "$root/ci/lib.sh"
mock_bin_dir dt-mock
work="$(mktemp -d)"
trap 'stop_mock; rm -rf "$work"' EXIT
public="soak-public-$$"
private="soak-private-$RANDOM$RANDOM"
capacity=500

DT_MOCK_TOKENS="$public:$private" DT_MOCK_LOG=warn start_mock "$work" --journal-capacity "$capacity"
url="$mock_url"
echo "== soak: ${duration}s against dt-mock at $url (pid $mock_pid, journal capacity $capacity)"

status=0
python3 "$root/ci/soak.py" --url "$url" --pid "$mock_pid" --public "$public" \
  --private "$private" --duration "$duration" --workers "${DT_SOAK_WORKERS:-8}" \
  --journal-capacity "$capacity" ${DT_SOAK_JSON:+--json "$DT_SOAK_JSON"} || status=$?

if grep -q "panicked" "$work/dt-mock.err"; then
  echo "FAIL: the mock panicked:" >&2
  grep -A3 "panicked" "$work/dt-mock.err" | head -n 20 >&2
  status=1
fi
if grep -q "$private" "$work/dt-mock.err" "$work/dt-mock.out"; then
  echo "FAIL: the private token appears in the mock's output" >&2
  status=1
fi
exit "$status"
