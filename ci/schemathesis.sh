#!/usr/bin/env bash
# Property-based API testing of dt-mock against its own OpenAPI description: install a
# pinned schemathesis from PyPI into a throwaway virtual environment, start dt-mock with
# a fresh token pair, and run schemathesis against $url/_mock/openapi.json, every
# request signed by ci/schemathesis_hooks.py (which also steers part of the generated
# data to real objects and base64 search queries).
#
# Checks: not_a_server_error, response_schema_conformance, status_code_conformance,
# content_type_conformance. Phases: examples, coverage, fuzzing (the document has no
# links, so no stateful phase). Fuzzing repeats in rounds of DT_SCHEMATHESIS_EXAMPLES
# cases per operation until DT_SCHEMATHESIS_MAX_TIME is spent; the seed is fixed, so
# every run draws the same cases in the same order (how far it gets depends on speed).
#
# Usage: ci/schemathesis.sh
#   DT_BIN_DIR                 where dt-mock is (default: cargo build --release -p dt-mock)
#   DT_SCHEMATHESIS_VENV       reuse this virtual environment (created when missing)
#   DT_SCHEMATHESIS_EXAMPLES   max examples per operation and round (default 100)
#   DT_SCHEMATHESIS_MAX_TIME   time budget in seconds for the whole run (default 120)
#   DT_SCHEMATHESIS_SEED       the seed (default 20240501)
#   DT_SCHEMATHESIS_REPORT     write the JUnit and NDJSON reports to this directory
# Exits 0 when every check passed on every case, non-zero otherwise; prints the number
# of operations and test cases.
set -euo pipefail

st_version="4.32.5"
examples="${DT_SCHEMATHESIS_EXAMPLES:-100}"
max_time="${DT_SCHEMATHESIS_MAX_TIME:-120}"
seed="${DT_SCHEMATHESIS_SEED:-20240501}"
checks="not_a_server_error,response_schema_conformance,status_code_conformance,content_type_conformance"

root="$(cd "$(dirname "$0")/.." && pwd)"
# shellcheck source=ci/lib.sh
. "$root/ci/lib.sh"
work="$(mktemp -d)"
trap 'stop_mock; rm -rf "$work"' EXIT

venv="${DT_SCHEMATHESIS_VENV:-$work/venv}"
pip_venv "$venv" schemathesis "$st_version"

mock_bin_dir dt-mock
public="st-public-$$"
private="st-private-$RANDOM$RANDOM$RANDOM"
DT_MOCK_TOKENS="$public:$private" start_mock "$work"
url="$mock_url"
echo "dt-mock listening on $url"

# Reports only when asked for: the NDJSON event log holds every exchange (~100 MB).
reports=()
if [ -n "${DT_SCHEMATHESIS_REPORT:-}" ]; then
  mkdir -p "$DT_SCHEMATHESIS_REPORT"
  reports=(--report junit,ndjson --report-dir "$DT_SCHEMATHESIS_REPORT")
fi
status=0
(
  cd "$work"
  DT_SCHEMATHESIS_URL="$url" \
    DT_SCHEMATHESIS_PUBLIC="$public" \
    DT_SCHEMATHESIS_PRIVATE="$private" \
    PYTHONPATH="$root/ci" \
    SCHEMATHESIS_HOOKS=schemathesis_hooks \
    "$venv/bin/st" run "$url/_mock/openapi.json" \
    --checks "$checks" \
    --phases examples,coverage,fuzzing \
    --max-examples "$examples" \
    --max-time "$max_time" \
    --seed "$seed" \
    --workers 1 \
    --generation-database none \
    "${reports[@]}" \
    --no-color
) | tee "$work/st.out" || status=$?

# The figures, from schemathesis's own summary.
operations="$(sed -n 's/^ *Tested: *//p' "$work/st.out" | tail -n 1)"
cases="$(sed -n 's/^ *\([0-9][0-9]* generated.*\)$/\1/p' "$work/st.out" | tail -n 1)"
echo "schemathesis $st_version: operations tested ${operations:-?}; test cases: ${cases:-?}; checks $checks; seed $seed; max examples $examples per operation and round; budget ${max_time}s; exit $status"
if [ "$status" -eq 0 ] && ! grep -q 'passed' <<<"$cases"; then
  echo "schemathesis ran no test case" >&2
  status=1
fi
exit "$status"
