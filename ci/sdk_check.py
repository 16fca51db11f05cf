#!/usr/bin/env python3
"""Drive a real third-party client, darktrace-sdk 0.10.1 (PyPI), against a running mock.

Usage: sdk_check.py URL PUBLIC PRIVATE

Each call prints one line, `ok <name>: <fact>` or `FAIL <name>: <why>`, then a final
`N passed, M failed` line; the exit status is 1 when any call failed. The script uses
the SDK exactly as an integration would (its own signing, its own query encoding), so a
failure here is either a mock bug or an SDK quirk: the FAIL line shows the request and
the answer, and nothing is worked around.
"""

from __future__ import annotations

import sys
import traceback
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

from darktrace import DarktraceClient
from darktrace.dt_utils import encode_query

RESULTS: list[bool] = []


def describe(exc: BaseException) -> str:
    """The exception, with the HTTP exchange when the SDK raised on a response."""
    resp = getattr(exc, "response", None)
    if resp is not None:
        req = resp.request
        body = resp.text[:300].replace("\n", "\\n")
        return f"{type(exc).__name__}: {req.method} {req.path_url} -> HTTP {resp.status_code} {body!r}"
    return f"{type(exc).__name__}: {exc}"


def call(name: str, fn: Callable[[], str]) -> None:
    """Runs one check and prints its line."""
    try:
        fact = fn()
    except AssertionError as exc:
        print(f"FAIL {name}: {exc}")
        RESULTS.append(False)
    except Exception as exc:  # noqa: BLE001 - every failure is reported, none is hidden
        print(f"FAIL {name}: {describe(exc)}")
        if "-v" in sys.argv:
            traceback.print_exc()
        RESULTS.append(False)
    else:
        print(f"ok {name}: {fact}")
        RESULTS.append(True)


def ms(t: datetime) -> int:
    return int(t.timestamp() * 1000)


def spaced(t: datetime) -> str:
    return t.strftime("%Y-%m-%d %H:%M:%S")


def iso(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


def main() -> int:
    if len(sys.argv) < 4:
        print(__doc__, file=sys.stderr)
        return 2
    url, public, private = sys.argv[1:4]
    client = DarktraceClient(host=url, public_token=public, private_token=private, verify_ssl=False, timeout=30)

    # Windows: whole seconds, so the ms and the date-string forms name the same span.
    now = datetime.now(timezone.utc).replace(microsecond=0)
    day_start, day_end = now - timedelta(hours=24), now - timedelta(minutes=1)
    state: dict[str, Any] = {}

    def status() -> str:
        s = client.status.get()
        assert isinstance(s, dict) and "version" in s, f"a status object with version, got {str(s)[:200]}"
        return f"version {s['version']}, time {s.get('time')}"

    def devices() -> str:
        ds = client.devices.get()
        assert isinstance(ds, list) and ds, f"a non-empty device list, got {str(ds)[:200]}"
        dev = next((d for d in ds if d.get("ip") and d.get("hostname")), ds[0])
        state["device"] = dev
        return f"{len(ds)} devices seen in the last 7 days; using did {dev['did']} ({dev.get('hostname')}, {dev['ip']})"

    def device_by_ip() -> str:
        dev = state["device"]
        got = client.devices.get(ip=dev["ip"])
        assert isinstance(got, list), f"a list, got {str(got)[:200]}"
        dids = [d.get("did") for d in got]
        assert dev["did"] in dids and all(d.get("ip") == dev["ip"] for d in got), f"did {dev['did']} for ip {dev['ip']}, got {dids}"
        return f"ip {dev['ip']} -> did {dids}"

    def details_ms() -> str:
        did = state["device"]["did"]
        ev = client.details.get(did=did, starttime=ms(day_start), endtime=ms(day_end))
        assert isinstance(ev, list) and ev, f"a non-empty event list, got {str(ev)[:200]}"
        outside = [e.get("timems") for e in ev if not ms(day_start) <= e.get("timems", -1) <= ms(day_end)]
        assert not outside, f"events inside the window, got times {outside[:5]}"
        state["details_ms"] = [(e.get("timems"), e.get("uid")) for e in ev]
        return f"did {did}: {len(ev)} events in [{ms(day_start)}, {ms(day_end)}] ms, first eventType {ev[0].get('eventType')}"

    def details_strings() -> str:
        did = state["device"]["did"]
        ev = client.details.get(did=did, from_=spaced(day_start), to=spaced(day_end))
        assert isinstance(ev, list) and ev, f"a non-empty event list, got {str(ev)[:200]}"
        got = [(e.get("timems"), e.get("uid")) for e in ev]
        want = state.get("details_ms")
        assert want is None or got == want, f"the {len(want or [])} events of the ms form, got {len(got)}"
        return f"did {did}: {len(ev)} events from {spaced(day_start)!r} to {spaced(day_end)!r} (same as the ms form)"

    def breaches_ms() -> str:
        bs = client.breaches.get(starttime=ms(day_start), endtime=ms(day_end))
        assert isinstance(bs, list) and bs, f"a non-empty breach list, got {str(bs)[:200]}"
        assert all("then" in b.get("model", {}) for b in bs), "model {then, now} by default"
        state["breaches_ms"] = [b.get("pbid") for b in bs]
        return f"{len(bs)} breaches in the last 24 h, first pbid {bs[0].get('pbid')} ({bs[0]['model']['then'].get('name')})"

    def breaches_strings() -> str:
        bs = client.breaches.get(from_time=spaced(day_start), to_time=spaced(day_end))
        assert isinstance(bs, list) and bs, f"a non-empty breach list, got {str(bs)[:200]}"
        got = [b.get("pbid") for b in bs]
        want = state.get("breaches_ms")
        assert want is None or got == want, f"the pbids of the ms form {want}, got {got}"
        return f"{len(bs)} breaches from {spaced(day_start)!r} to {spaced(day_end)!r} (same as the ms form)"

    search_from, search_to = iso(now - timedelta(hours=2)), iso(now - timedelta(minutes=1))
    query = {"search": "@type:dns OR @type:conn", "from": search_from, "to": search_to}

    def search_get() -> str:
        r = client.advanced_search.search(query)
        hits = r.get("hits", {}) if isinstance(r, dict) else {}
        assert isinstance(hits.get("total"), int) and hits["total"] > 0, f"hits.total > 0, got {str(r)[:300]}"
        types = sorted({h["_source"]["@type"] for h in hits.get("hits", [])})
        state["search"] = (hits["total"], [h["_id"] for h in hits["hits"]])
        return f"hits.total {hits['total']}, {len(hits['hits'])} hits of types {types}"

    def search_post() -> str:
        r = client.advanced_search.search(query, post_request=True)
        hits = r.get("hits", {}) if isinstance(r, dict) else {}
        assert isinstance(hits.get("total"), int) and hits["total"] > 0, f"hits.total > 0, got {str(r)[:300]}"
        got = (hits["total"], [h["_id"] for h in hits["hits"]])
        want = state.get("search")
        assert want is None or got == want, f"the GET answer (total {want and want[0]}), got total {got[0]}"
        return f"hits.total {hits['total']} via POST {{hash}}, same hits as GET"

    def search_get_raw_slash() -> str:
        # A query the SDK encodes with raw '/', '+' and '=' in the path (standard base64):
        # two clauses matching every record ('?' and '>' encode as '/' and '+' on the
        # third byte of a group; the spaces move them there).
        spacings = [(lead, gap, tail) for lead in range(3) for gap in range(1, 4) for tail in range(3)]
        for lead, gap, tail in spacings:
            text = " " * lead + "NOT @fields.sdkcheck_unused:?" + " " * gap + "AND NOT @fields.sdkcheck_unused:>0" + " " * tail
            sent = {"search": text, "fields": [], "offset": 0, "timeframe": "custom",
                    "time": {"from": search_from, "to": search_to, "user_interval": "0"}}
            b64 = encode_query(sent)
            if "/" in b64 and "+" in b64 and b64.endswith("="):
                break
        else:
            raise AssertionError("no spacing gives a base64 with '/', '+' and '='")
        every = client.advanced_search.search({"search": "*", "from": search_from, "to": search_to})
        r = client.advanced_search.search({"search": text, "from": search_from, "to": search_to})
        total = r.get("hits", {}).get("total") if isinstance(r, dict) else None
        want = every.get("hits", {}).get("total")
        assert total == want and want, f"every record of the window ({want}), got {str(r)[:300]}"
        return f"path segment with raw '/', '+', '=' accepted; hits.total {total} (= '*')"

    def wrong_secret() -> str:
        bad = DarktraceClient(host=url, public_token=public, private_token=private + "-wrong", verify_ssl=False, timeout=30)
        try:
            got = bad.status.get()
        except Exception as exc:  # noqa: BLE001
            resp = getattr(exc, "response", None)
            assert resp is not None, f"an HTTP error, got {describe(exc)}"
            assert resp.status_code == 400 and "API SIGNATURE ERROR" in resp.text, f"400 API SIGNATURE ERROR, got {describe(exc)}"
            return f"{type(exc).__name__}: HTTP {resp.status_code} {resp.text.strip()!r}"
        raise AssertionError(f"a rejection, got an answer: {str(got)[:200]}")

    call("status", status)
    call("devices", devices)
    if "device" in state:
        call("device-by-ip", device_by_ip)
        call("details-window-ms", details_ms)
        call("details-window-strings", details_strings)
    else:
        for name in ("device-by-ip", "details-window-ms", "details-window-strings"):
            print(f"FAIL {name}: no device from the devices call")
            RESULTS.append(False)
    call("modelbreaches-window-ms", breaches_ms)
    call("modelbreaches-window-strings", breaches_strings)
    call("advancedsearch-get", search_get)
    call("advancedsearch-post", search_post)
    call("advancedsearch-get-raw-slash", search_get_raw_slash)
    call("wrong-secret-rejected", wrong_secret)

    passed, failed = RESULTS.count(True), RESULTS.count(False)
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
