#!/usr/bin/env bash
# The integration without an appliance: a sales demo in about 90 seconds.
#
#   1. starts dt-mock (the mock Threat Visualizer) on a free port;
#   2. picks two devices of its default world (GET /_mock/demo-ips);
#   3. starts `dt-client run` for a validation action against those IPs, starting now,
#      in real time with a short schedule (fixtures/client/demo-config.toml);
#   4. partway through, injects a detection (`dt-mock inject`): a firewall deny for the
#      action's traffic, and a Darktrace model breach on the source device;
#   5. waits for the run to end and prints the injected detection among the client's
#      events; exits non-zero if the client did not report it.
#
# Uses $DT_BIN_DIR/{dt-mock,dt-client} when set, else builds them (debug).
# Environment: DEMO_INJECT_AFTER (seconds, default 20), DEMO_OUT (default ci/out/demo).
set -euo pipefail
cd "$(dirname "$0")/.."

inject_after="${DEMO_INJECT_AFTER:-20}"
out_dir="${DEMO_OUT:-ci/out/demo}"
mkdir -p "$out_dir"
events="$out_dir/events.jsonl"
summary="$out_dir/summary.json"
: > "$events"

if [[ -n "${DT_BIN_DIR:-}" ]]; then
  bin="$DT_BIN_DIR"
else
  echo "== building dt-mock and dt-client"
  cargo build -q -p dt-mock -p dt-client
  bin="${CARGO_TARGET_DIR:-target}/debug"
fi
mock_bin="$bin/dt-mock"
DT_BIN_DIR="$bin"
client_bin="$bin/dt-client"

# shellcheck source=ci/lib.sh
. ci/lib.sh
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  stop_mock
  wait 2>/dev/null || true
}
trap cleanup EXIT

json_field() { # json_field FILE KEY: a top-level string/number field of a JSON file
  python3 -c 'import json,sys; v=json.load(open(sys.argv[1])); print(v[sys.argv[2]])' "$1" "$2"
}

echo "== starting dt-mock"
DT_MOCK_LOG=warn start_mock "$out_dir"
url="$mock_url"
port="${url##*:}"
echo "mock appliance at $url (live journal: $url/_mock/)"

python3 - "$url/_mock/demo-ips" > "$out_dir/demo-ips.json" <<'PY'
import sys, urllib.request
print(urllib.request.urlopen(sys.argv[1], timeout=10).read().decode())
PY
src="$(json_field "$out_dir/demo-ips.json" src)"
dest="$(json_field "$out_dir/demo-ips.json" dest)"
echo "action: source $src -> destination $dest"

echo "== connectivity test"
"$client_bin" test --config fixtures/client/demo-config.toml --port "$port"

echo "== starting the validation job (dt-client run, real time, 1-minute window every 10 s)"
"$client_bin" run --config fixtures/client/demo-config.toml --port "$port" \
  --src-ip "$src" --dest-ip "$dest" --start now --action-id demo-action \
  --no-progress --out "$events" --summary-json "$summary" 2> "$out_dir/client.log" &
client_pid=$!
pids+=($client_pid)

echo "== the attack runs; injecting what Darktrace would see in ${inject_after}s"
sleep "$inject_after"
"$mock_bin" inject --url "$url" --src "$src" --dest "$dest" --kind firewall-deny --json > "$out_dir/injected-firewall.json"
"$mock_bin" inject --url "$url" --src "$src" --dest "$dest" --kind model-breach --json > "$out_dir/injected-breach.json"
fw_id="$(json_field "$out_dir/injected-firewall.json" _id)"
pbid="$(json_field "$out_dir/injected-breach.json" pbid)"
echo "injected: firewall deny _id $fw_id; model breach pbid $pbid ($(json_field "$out_dir/injected-breach.json" model))"

echo "== waiting for the job to finish"
set +e
wait "$client_pid"
rc=$?
set -e
cat "$out_dir/client.log"
echo "dt-client run exited $rc"

echo "== the client's events"
python3 - "$events" "$fw_id" "$pbid" <<'PY'
import json, sys
path, fw_id, pbid = sys.argv[1], sys.argv[2], sys.argv[3]
lines = [json.loads(l) for l in open(path) if l.strip()]
events = [e for e in lines if e.get("kind") == "event"]
alerts = [e for e in lines if e.get("kind") == "alert"]
print(f"{len(events)} events and {len(alerts)} alerts emitted")
found = {}
for e in lines:
    if e.get("id") == fw_id:
        found["firewall"] = e
    if e.get("kind") == "alert" and str(e.get("id")) == str(pbid):
        found["breach"] = e
for name in ("firewall", "breach"):
    if name not in found:
        continue
    e = found[name]
    shown = {k: v for k, v in e.items() if k != "raw"}
    print(f"-- injected {name} detection, as the client emitted it:")
    print(json.dumps(shown, indent=2))
missing = [n for n in ("firewall", "breach") if n not in found]
if missing:
    print(f"DEMO FAILED: the client did not emit the injected {', '.join(missing)} detection", file=sys.stderr)
    sys.exit(1)
print("DEMO OK: Darktrace 'saw' the attack inside the validation window")
PY
