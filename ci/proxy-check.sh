#!/usr/bin/env bash
# dt-client through a real HTTP proxy (tinyproxy), over plain HTTP and over HTTPS with
# CONNECT, with and without proxy credentials; and through proxies that refuse or are
# down, which must give the D13 proxy error (DECISIONS.md D13, client/src/error.rs).
#
#   ci/proxy-check.sh
#
# Starts two mocks (HTTP, and HTTPS with --tls, the client given the CA file) and
# tinyproxy instances from generated configs on free loopback ports (foreground,
# `tinyproxy -d -c CONF`): an open proxy, one with `BasicAuth`, one that allows only
# another address, and one that allows CONNECT only to port 443. For every case it runs
# `dt-client test --json` and a short `dt-client run --virtual-time` (the demo config,
# fixtures/client/demo-config.toml, after a detection is injected so the run has
# events) and checks:
#   - success: exit 0, the test healthy, the run emits events, and tinyproxy's log shows
#     the GET (HTTP) or CONNECT (HTTPS) to the mock and the connection it opened;
#   - refusal: exit 1, kind `proxy` and the D13 proxy text in the test's JSON and in
#     every failure of the run's summary, and tinyproxy's log shows it saw the request
#     but opened no connection to the mock;
#   - an untrusted certificate through a working tunnel: the D13 TLS error, not proxy;
#   - proxy credentials (right or wrong) never appear in the client's output.
# One line per case, a summary; exits 1 on any failure, 2 when it cannot set up.
#
# Needs tinyproxy (`apt-get install -y tinyproxy`; .ci/run installs it) and python3.
# Uses $DT_BIN_DIR/{dt-mock,dt-client} when set, else builds release binaries (ci/lib.sh).
# Output under $PROXY_CHECK_OUT (default ci/out/proxy-check).
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"

if ! command -v tinyproxy >/dev/null 2>&1; then
  echo "proxy-check: tinyproxy is not installed: apt-get install -y tinyproxy (.ci/run installs it)" >&2
  exit 2
fi
if ! command -v python3 >/dev/null 2>&1; then
  echo "proxy-check: python3 is needed" >&2
  exit 2
fi

# shellcheck source=ci/lib.sh
. ci/lib.sh
mock_bin_dir dt-mock dt-client
client="$DT_BIN_DIR/dt-client"
config="$root/fixtures/client/demo-config.toml"

out="${PROXY_CHECK_OUT:-ci/out/proxy-check}"
rm -rf "$out"
mkdir -p "$out"
out="$(cd "$out" && pwd)"

# Distinctive so that a leak is unmistakable.
proxy_user="dtproxyuser"
proxy_pass="Pr0xyPass-7c1d"
wrong_pass="Wr0ngPass-93ab"

http_mock_pid=""
https_mock_pid=""
proxy_pids=()
cleanup() {
  for pid in "${proxy_pids[@]}"; do
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  for pid in "$http_mock_pid" "$https_mock_pid"; do
    mock_pid="$pid"
    stop_mock
  done
}
trap cleanup EXIT

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# start_proxy NAME EXTRA-CONFIG-LINES: a tinyproxy on a free port; sets proxy_port.
start_proxy() {
  local name="$1" extra="$2" pid
  proxy_port="$(free_port)"
  cat > "$out/$name.conf" <<EOF
Port $proxy_port
Listen 127.0.0.1
Timeout 10
MaxClients 20
LogLevel Info
$extra
EOF
  tinyproxy -d -c "$out/$name.conf" > "$out/$name.log" 2>&1 &
  pid=$!
  proxy_pids+=("$pid")
  for _ in $(seq 1 100); do
    grep -q "Accepting connections" "$out/$name.log" 2>/dev/null && return 0
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "proxy-check: tinyproxy ($name) exited:" >&2
      cat "$out/$name.log" >&2
      exit 2
    fi
    sleep 0.05
  done
  echo "proxy-check: tinyproxy ($name) did not start within 5 s" >&2
  exit 2
}

# --- the mocks, each with a detection for the run to find -------------------------
# The demo config's token pair, whatever DT_MOCK_TOKENS the caller has.
mock_args=(--token demo-public:demo-private)
mkdir -p "$out/http-mock" "$out/https-mock"
DT_MOCK_LOG=warn start_mock "$out/http-mock" "${mock_args[@]}"
http_mock_pid="$mock_pid"
http_port="${mock_url##*:}"
DT_MOCK_LOG=warn start_mock "$out/https-mock" "${mock_args[@]}" --tls --tls-ca-out "$out/ca.pem"
https_mock_pid="$mock_pid"
https_port="${mock_url##*:}"
https_url="$mock_url"
http_url="http://127.0.0.1:$http_port"

read -r src dest < <(python3 - "$http_url/_mock/demo-ips" <<'PY'
import json, sys, urllib.request
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
v = json.loads(opener.open(sys.argv[1], timeout=10).read())
print(v["src"], v["dest"])
PY
)
env -u http_proxy -u HTTP_PROXY -u https_proxy -u HTTPS_PROXY \
  "$DT_BIN_DIR/dt-mock" inject --url "$http_url" --src "$src" --dest "$dest" --json > "$out/inject-http.json"
env -u http_proxy -u HTTP_PROXY -u https_proxy -u HTTPS_PROXY \
  "$DT_BIN_DIR/dt-mock" inject --url "$https_url" --insecure --src "$src" --dest "$dest" --json > "$out/inject-https.json"

# --- the proxies ---------------------------------------------------------------------
start_proxy open ""
open_port="$proxy_port"
start_proxy auth "BasicAuth $proxy_user $proxy_pass"
auth_port="$proxy_port"
start_proxy deny "Allow 192.0.2.1"
deny_port="$proxy_port"
start_proxy connect443 "ConnectPort 443"
c443_port="$proxy_port"
down_port="$(free_port)" # nothing listens there

echo "proxy-check: mocks $http_url and $https_url; tinyproxy $(tinyproxy -v 2>&1 | head -n 1 | awk '{print $2}'):" \
  "open :$open_port, auth :$auth_port, deny :$deny_port, CONNECT-443-only :$c443_port; down :$down_port"

# --- the cases -----------------------------------------------------------------------
cases=0
failed=0

# check_case NAME EXPECT SCHEME PROXY-URL LOG
#   EXPECT: ok (healthy, events, carried by the proxy), proxy (the D13 proxy error,
#     refused by the proxy), or tls (the D13 TLS error through a working tunnel)
#   SCHEME: http, https (verification on, the mock's CA file), https-no-ca (no CA file)
#   LOG: the proxy's log name, or - for a proxy that is down
check_case() {
  local name="$1" expect="$2" scheme="$3" proxy="$4" log="$5"
  local dir="$out/cases/$name" port conn=() problems=() n0=0 new rc_test rc_run
  mkdir -p "$dir"
  if [ "$scheme" = https ]; then
    port="$https_port"
    conn=(--protocol https --verify-ssl --ca-file "$out/ca.pem")
  elif [ "$scheme" = https-no-ca ]; then
    port="$https_port"
    conn=(--protocol https --verify-ssl)
  else
    port="$http_port"
    conn=(--protocol http)
  fi
  conn+=(--config "$config" --port "$port" --timeout 5 --proxy "$proxy")
  [ "$log" != - ] && n0="$(wc -l < "$out/$log.log")"

  set +e
  "$client" test "${conn[@]}" --json > "$dir/test.json" 2> "$dir/test.err"
  rc_test=$?
  "$client" run "${conn[@]}" --src-ip "$src" --dest-ip "$dest" --start now-30s \
    --action-id "proxy-$name" --virtual-time --no-progress \
    --out "$dir/run.jsonl" --summary-json "$dir/summary.json" > "$dir/run.out" 2> "$dir/run.err"
  rc_run=$?
  set -e

  local verdict
  verdict="$(python3 - "$dir" "$expect" "$rc_test" "$rc_run" <<'PY'
import json, os, sys
d, expect, rc_test, rc_run = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
hints = {
    "proxy": ("proxy error: ", "Check the proxy URL and its credentials, and that it allows CONNECT to the appliance"),
    "tls": ("TLS error: ", "Trust the appliance's CA (ca_file) or turn off certificate verification (verify_ssl = false)"),
}
problems = []
try:
    test = json.load(open(os.path.join(d, "test.json")))
except Exception as e:
    test = {}
    problems.append(f"test printed no JSON ({e})")
try:
    summary = json.load(open(os.path.join(d, "summary.json")))["summary"]
except Exception as e:
    summary = {}
    problems.append(f"run wrote no summary ({e})")
lines = []
if os.path.exists(os.path.join(d, "run.jsonl")):
    lines = [json.loads(l) for l in open(os.path.join(d, "run.jsonl")) if l.strip()]
events = sum(1 for l in lines if l.get("kind") == "event")
failures = summary.get("failures", [])
if expect == "ok":
    if rc_test != 0 or test.get("health") != "healthy":
        problems.append(f"test exited {rc_test}: {test.get('error', test)}")
    if rc_run != 0 or failures:
        problems.append(f"run exited {rc_run}: {[f.get('error') for f in failures[:1]]}")
    if events == 0:
        problems.append("run emitted no event")
    detail = f"test healthy, run {events} events"
else:
    prefix, hint = hints[expect]
    if rc_test != 1 or test.get("kind") != expect or not str(test.get("error", "")).startswith(prefix) or hint not in test.get("error", ""):
        problems.append(f"test exited {rc_test}: {test.get('kind')}: {test.get('error')}")
    kinds = sorted({f.get("kind") for f in failures})
    if rc_run != 1 or kinds != [expect] or any(hint not in f.get("error", "") for f in failures):
        problems.append(f"run exited {rc_run} with failure kinds {kinds}")
    if events:
        problems.append(f"run emitted {events} events")
    err = str(test.get("error", ""))
    cause = err.split(": ", 1)[-1].split(". Check the proxy URL")[0].split(". Trust the")[0]
    cause = cause.split("(Connect): ")[-1]
    detail = f"test and run: {expect} error ({cause}; run: {len(failures)} failed queries)"
print(("FAIL " + "; ".join(problems)) if problems else ("ok " + detail))
PY
)"
  [[ "$verdict" == FAIL* ]] && problems+=("${verdict#FAIL }")

  # Did the proxy carry (or refuse) the traffic? Only this case's lines of its log.
  if [ "$log" != - ]; then
    new="$(tail -n +"$((n0 + 1))" "$out/$log.log")"
    local want
    if [ "$scheme" = http ]; then want="GET http://127.0.0.1:$port/"; else want="CONNECT 127.0.0.1:$port "; fi
    if [ "$expect" != proxy ]; then
      grep -qF "Request (file descriptor" <<< "$new" && grep -qF "$want" <<< "$new" \
        || problems+=("tinyproxy's log has no '$want' line")
      grep -qF "Established connection to host \"127.0.0.1\"" <<< "$new" \
        || problems+=("tinyproxy's log shows no connection to the mock")
    else
      grep -qE "Request \(file descriptor|Unauthorized connection" <<< "$new" \
        || problems+=("tinyproxy's log shows no request: the refusal did not come from the proxy")
      ! grep -qF "Established connection" <<< "$new" \
        || problems+=("tinyproxy connected to the mock although it should refuse")
    fi
  fi

  # Proxy credentials never appear in the client's output.
  if grep -rqF -e "$proxy_pass" -e "$wrong_pass" "$dir"; then
    problems+=("proxy credentials in the client's output: $(grep -rlF -e "$proxy_pass" -e "$wrong_pass" "$dir" | xargs -n1 basename | tr '\n' ' ')")
  fi

  cases=$((cases + 1))
  if [ "${#problems[@]}" -eq 0 ]; then
    printf 'ok    %-34s %s\n' "$name" "${verdict#ok }"
  else
    failed=$((failed + 1))
    printf 'FAIL  %-34s %s\n' "$name" "$(IFS='|'; echo "${problems[*]}")"
    echo "      (client output in $dir)"
  fi
}

creds="$proxy_user:$proxy_pass"
bad="$proxy_user:$wrong_pass"
check_case http-open                    ok    http  "http://127.0.0.1:$open_port" open
check_case https-connect-open           ok    https "http://127.0.0.1:$open_port" open
check_case http-auth                    ok    http  "http://$creds@127.0.0.1:$auth_port" auth
check_case https-connect-auth           ok    https "http://$creds@127.0.0.1:$auth_port" auth
check_case http-auth-no-credentials     proxy http  "http://127.0.0.1:$auth_port" auth
check_case https-auth-no-credentials    proxy https "http://127.0.0.1:$auth_port" auth
check_case http-auth-wrong-password     proxy http  "http://$bad@127.0.0.1:$auth_port" auth
check_case https-auth-wrong-password    proxy https "http://$bad@127.0.0.1:$auth_port" auth
check_case http-client-not-allowed      proxy http  "http://127.0.0.1:$deny_port" deny
check_case https-client-not-allowed     proxy https "http://127.0.0.1:$deny_port" deny
check_case https-connect-port-refused   proxy https "http://127.0.0.1:$c443_port" connect443
# The tunnel works but the certificate is not trusted: TLS, not a proxy error.
check_case https-connect-untrusted-cert tls   https-no-ca "http://$creds@127.0.0.1:$auth_port" auth
check_case http-proxy-down              proxy http  "http://$creds@127.0.0.1:$down_port" -
check_case https-proxy-down             proxy https "http://$creds@127.0.0.1:$down_port" -

echo
if [ "$failed" -eq 0 ]; then
  echo "proxy-check: all $cases cases passed (logs and client output in $out)"
else
  echo "proxy-check: $failed of $cases cases FAILED (logs and client output in $out)"
  exit 1
fi
