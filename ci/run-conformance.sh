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

# shellcheck source=ci/lib.sh
. "$(dirname "$0")/lib.sh"
mock_bin_dir dt-mock dt-conformance
work="$(mktemp -d)"
trap 'stop_mock; rm -rf "$work"' EXIT
public="ci-public-$$"
private="ci-private-$RANDOM$RANDOM"
# shellcheck disable=SC2086
DT_MOCK_TOKENS="$public:$private" start_mock "$work" ${DT_MOCK_ARGS:-}
url="$mock_url"
echo "dt-mock listening on $url"

status=0
DT_API_KEY="$public" DT_API_SECRET="$private" \
  "$DT_BIN_DIR/dt-conformance" all --url "$url" --junit "$junit" "$@" || status=$?
echo "JUnit report: $junit"
exit "$status"
