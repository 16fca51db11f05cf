#!/usr/bin/env python3
"""Browser test of dt-mock's live journal page (/_mock/).

Starts dt-mock on 127.0.0.1:0 and chromedriver on a free port, drives headless
Chromium through the W3C WebDriver HTTP API (standard library only), loads the page,
sends one correctly signed request, one wrongly signed request and one whose target
carries an HTML payload, waits until the page shows them (accepted, rejected with its
diagnosis, the payload as text and not as markup), and saves a screenshot.

Exit 0 on success (the screenshot's path is printed), non-zero with a reason otherwise.
"""

import argparse
import base64
import datetime
import hashlib
import hmac
import http.client
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

PUBLIC = "demo-public"
PRIVATE = "demo-private"
ACCEPTED_TARGET = "/status?includechildren=false"
REJECTED_TARGET = "/modelbreaches?minscore=0.5&from=browser-test"
# A request whose token header carries markup: it would run script if the page
# inserted journal text as HTML. (hyper refuses such bytes in the request line, so
# the payload rides in a header, which the journal records and the diagnosis repeats.)
XSS_TARGET = "/devices?probe=html-in-header"
XSS_TOKEN = "<img src=x onerror=window.__xss=1>"


class Failure(Exception):
    pass


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def signed_headers(target, private):
    date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%S")
    message = f"{target}\n{PUBLIC}\n{date}".encode()
    sig = hmac.new(private.encode(), message, hashlib.sha1).hexdigest()
    return {"DTAPI-Token": PUBLIC, "DTAPI-Date": date, "DTAPI-Signature": sig}


def raw_get(host, port, target, headers):
    """GET with the target exactly as given (no quoting), like a client on the wire."""
    conn = http.client.HTTPConnection(host, port, timeout=10)
    try:
        conn.putrequest("GET", target, skip_accept_encoding=True)
        for k, v in headers.items():
            conn.putheader(k, v)
        conn.endheaders()
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


class WebDriver:
    def __init__(self, base):
        self.base = base
        self.session = None

    def call(self, method, path, body=None, timeout=60):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(
            self.base + path,
            data=data,
            method=method,
            headers={"Content-Type": "application/json; charset=utf-8"},
        )
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                payload = json.loads(r.read() or b"{}")
        except urllib.error.HTTPError as e:
            detail = e.read().decode(errors="replace")
            raise Failure(f"WebDriver {method} {path} answered {e.code}: {detail[:500]}")
        return payload.get("value")

    def start(self, chromium, profile_dir):
        args = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            "--window-size=1500,1250",
            f"--user-data-dir={profile_dir}",
        ]
        caps = {
            "capabilities": {
                "alwaysMatch": {
                    "browserName": "chrome",
                    "goog:chromeOptions": {"binary": chromium, "args": args},
                }
            }
        }
        value = self.call("POST", "/session", caps, timeout=120)
        self.session = value["sessionId"]

    def s(self, method, path, body=None):
        return self.call(method, f"/session/{self.session}{path}", body)

    def click(self, css):
        found = self.s("POST", "/element", {"using": "css selector", "value": css})
        element = next(iter(found.values()))
        self.s("POST", f"/element/{element}/click", {})

    def execute(self, script, *args):
        return self.s("POST", "/execute/sync", {"script": script, "args": list(args)})

    def quit(self):
        if self.session:
            try:
                self.call("DELETE", f"/session/{self.session}", timeout=20)
            except Exception:
                pass
            self.session = None


def wait_for(what, fn, timeout=20.0, interval=0.25):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = fn()
        if last:
            return last
        time.sleep(interval)
    raise Failure(f"timed out waiting for {what} (last seen: {last!r})")


ROWS_JS = """
return Array.from(document.querySelectorAll('#rows tr')).map(function (r) {
  return {verdict: r.dataset.verdict, target: r.dataset.target, status: r.dataset.status,
          text: r.textContent};
});
"""


T0 = time.monotonic()


def log(msg):
    print(f"[{time.monotonic() - T0:5.1f}s] {msg}", flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--mock-bin", required=True, help="the dt-mock binary")
    ap.add_argument("--out", default="ci/out/journal.png", help="where the screenshot goes")
    ap.add_argument("--chromium", default=os.environ.get("CHROME_BIN") or shutil.which("chromium") or shutil.which("chromium-browser"))
    ap.add_argument("--chromedriver", default=os.environ.get("CHROMEDRIVER") or shutil.which("chromedriver"))
    a = ap.parse_args()
    if not a.chromium:
        raise Failure("chromium not found (apt-get install chromium, or set CHROME_BIN)")
    if not a.chromedriver:
        raise Failure("chromedriver not found (apt-get install chromium-driver, or set CHROMEDRIVER)")

    procs = []
    profile = tempfile.mkdtemp(prefix="dt-browser-test-")
    wd = None
    try:
        mock = subprocess.Popen(
            # A scenario, so that the page's scenario card has something to show.
            [a.mock_bin, "--listen", "127.0.0.1:0", "--scenario", "permission-denied"],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env=dict(os.environ, DT_MOCK_LOG="warn"),
        )
        procs.append(mock)
        line = mock.stdout.readline().strip()
        if not line.startswith("listening on "):
            raise Failure(f"dt-mock did not start: {line!r}")
        base = line.split()[-1]
        host, port = base.split("//")[1].split(":")
        port = int(port)
        log(f"dt-mock at {base}")

        wd_port = free_port()
        driver = subprocess.Popen(
            [a.chromedriver, f"--port={wd_port}"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        procs.append(driver)
        wd = WebDriver(f"http://127.0.0.1:{wd_port}")

        def driver_ready():
            try:
                return (wd.call("GET", "/status", timeout=2) or {}).get("ready")
            except Exception:
                return False

        wait_for("chromedriver", driver_ready, timeout=30)
        log("chromedriver ready")
        wd.start(a.chromium, profile)
        log("headless Chromium started")

        wd.s("POST", "/url", {"url": base + "/_mock/"})
        log("page loaded")
        title = wd.s("GET", "/title")
        if "dt-mock" not in (title or ""):
            raise Failure(f"unexpected page title {title!r}")
        wait_for(
            "the page to poll the mock",
            lambda: wd.execute("return document.getElementById('conn').textContent.indexOf('live') >= 0;"),
        )

        # The buttons: a fault appears in the faults card and "Clear faults" removes it;
        # "Inject demo detection" adds a detection and says so.
        add = urllib.request.Request(
            base + "/_mock/faults",
            data=json.dumps({"route": "/devices", "kind": "delay", "ms": 1}).encode(),
            method="POST",
            headers={"Content-Type": "application/json"},
        )
        urllib.request.urlopen(add, timeout=10).read()
        faults_js = "return document.getElementById('faults').textContent;"
        wait_for("the fault in the faults card", lambda: "/devices delay" in (wd.execute(faults_js) or ""))
        wd.click("#clear-faults")
        wait_for("the faults card to empty", lambda: (wd.execute(faults_js) or "").strip() == "none")
        wd.click("#inject")
        message_js = "return document.getElementById('message').textContent;"
        injected = wait_for("the inject message", lambda: (wd.execute(message_js) or "") if "Injected" in (wd.execute(message_js) or "") else None)
        scenario = wd.execute("return document.getElementById('scenario-name').textContent;")
        if scenario != "permission-denied":
            raise Failure(f"the scenario card shows {scenario!r}")
        log(f"buttons work: faults cleared; {injected}")

        st, body = raw_get(host, port, ACCEPTED_TARGET, signed_headers(ACCEPTED_TARGET, PRIVATE))
        if st != 200:
            raise Failure(f"the signed request got {st}: {body[:200]!r}")
        st, body = raw_get(host, port, REJECTED_TARGET, signed_headers(REJECTED_TARGET, "not-the-private-token"))
        if st != 400 or b"API SIGNATURE ERROR" not in body:
            raise Failure(f"the wrongly signed request got {st}: {body[:200]!r}")
        xss_headers = signed_headers(XSS_TARGET, PRIVATE)
        xss_headers["DTAPI-Token"] = XSS_TOKEN
        st, _ = raw_get(host, port, XSS_TARGET, xss_headers)
        log(f"sent: signed {ACCEPTED_TARGET} (200), wrongly signed {REJECTED_TARGET} (400), markup in a header ({st})")

        def rows_ready():
            rows = wd.execute(ROWS_JS) or []
            ok = any(r["verdict"] == "accepted" and r["target"] == ACCEPTED_TARGET for r in rows)
            bad = any(r["verdict"] == "rejected" and r["target"] == REJECTED_TARGET for r in rows)
            xss = any(r["target"] == XSS_TARGET and XSS_TOKEN in r["text"] for r in rows)
            return rows if (ok and bad and xss) else None

        rows = wait_for("the accepted, rejected and payload rows", rows_ready)
        rejected = next(r for r in rows if r["verdict"] == "rejected")
        if "diagnosis" not in rejected["text"]:
            raise Failure(f"the rejected row shows no diagnosis: {rejected['text'][:300]!r}")
        if wd.execute("return window.__xss === undefined && document.querySelectorAll('#rows img').length === 0;") is not True:
            raise Failure("the target's HTML was inserted as markup (XSS)")
        log(f"page shows {len(rows)} rows: accepted, rejected (with diagnosis), payload as text")

        # Open the rejected row's diagnosis for the screenshot.
        wd.execute(
            "var rows = document.querySelectorAll('#rows tr');"
            "for (var i = 0; i < rows.length; i++) {"
            "  if (rows[i].dataset.target === arguments[0]) {"
            "    var d = rows[i].querySelector('details'); if (d) { d.open = true; }"
            "  }"
            "}"
            "return true;",
            REJECTED_TARGET,
        )
        time.sleep(1.6)  # let the new-row highlight fade
        png = base64.b64decode(wd.s("GET", "/screenshot"))
        if not png.startswith(b"\x89PNG"):
            raise Failure("the screenshot is not a PNG")
        out = os.path.abspath(a.out)
        os.makedirs(os.path.dirname(out), exist_ok=True)
        with open(out, "wb") as f:
            f.write(png)
        log(f"screenshot: {out}")
        print("browser test passed")
        return 0
    finally:
        if wd is not None:
            wd.quit()
        for p in reversed(procs):
            p.terminate()
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
        shutil.rmtree(profile, ignore_errors=True)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Failure as e:
        print(f"browser test FAILED: {e}", file=sys.stderr)
        sys.exit(1)
