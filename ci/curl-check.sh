#!/usr/bin/env bash
# A request built by hand: the DTAPI headers computed in the shell with openssl, sent
# with curl. Checks that the mock accepts it and that the D3 failures are byte-exact.
# Usage: ci/curl-check.sh   (uses $DT_BIN_DIR/dt-mock, or builds it)
set -euo pipefail
# shellcheck source=ci/lib.sh
. "$(dirname "$0")/lib.sh"
mock_bin_dir dt-mock
work="$(mktemp -d)"
trap 'stop_mock; rm -rf "$work"' EXIT
start_mock "$work"
url="$mock_url"

sign() { # target date secret
  printf '%s\n%s\n%s' "$1" demo-public "$2" | openssl dgst -sha1 -hmac "$3" | sed 's/^.*= //'
}
fail=0
check() { # name expected actual
  if [ "$2" = "$3" ]; then echo "ok   $1"; else echo "FAIL $1: expected $(printf %q "$2"), got $(printf %q "$3")"; fail=1; fi
}

date="$(date -u +%Y%m%dT%H%M%S)"
target='/devices?count=1&responsedata=did'
sig="$(sign "$target" "$date" demo-private)"
code="$(curl -s -o "$work/body" -w '%{http_code}' "$url$target" -H "DTAPI-Token: demo-public" -H "DTAPI-Date: $date" -H "DTAPI-Signature: $sig")"
check "hand-signed GET accepted" 200 "$code"

sig="$(sign /status "$date" not-the-secret)"
body="$(curl -s "$url/status" -H "DTAPI-Token: demo-public" -H "DTAPI-Date: $date" -H "DTAPI-Signature: $sig")"
check "wrong secret: byte-exact body" "$(printf '{\n  "status": "API SIGNATURE ERROR"\n}')" "$body"

late="$(date -u -d '+31 minutes' +%Y%m%dT%H%M%S)"
sig="$(sign /status "$late" demo-private)"
body="$(curl -s "$url/status" -H "DTAPI-Token: demo-public" -H "DTAPI-Date: $late" -H "DTAPI-Signature: $sig")"
check "date 31 min ahead: byte-exact body" "$(printf '{\n  "status": "API DATE ERROR"\n}')" "$body"

headers="$(curl -s -D - -o "$work/body" "$url/status")"
check "no headers: 302 to /login" "Found. Redirecting to /login" "$(cat "$work/body")"
echo "$headers" | grep -qi '^location: /login' || { echo "FAIL no Location: /login"; fail=1; }
exit $fail
