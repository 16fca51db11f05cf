#!/usr/bin/env python3
"""Soak driver for dt-mock (Python standard library only).

Drives mixed traffic at a running mock for DURATION seconds from WORKERS threads:
signed GETs on every appliance route, advanced search by GET and POST, requests the
appliance refuses (wrong secret, skewed date, unsigned, unknown token), and the
admin API (journal, health, delay faults added and cleared, the clock moved and
reset). It samples the mock's resident memory from /proc/PID/status every second.

At the end it prints the requests sent, the answers by kind and status, the 5xx
count, the RSS after warm-up (at 20% of the run) and at the end, and the growth.
Exit status: 1 on any 5xx, on a lost connection, when the signed requests are not
accepted (the soak would be meaningless), when the mock dies, when the journal or
the fault list exceed their bounds, or (runs of 60 s and more) when RSS grew more
than 10% after warm-up.

The soak injects only delay faults, so every 5xx would be the mock's own.
Usage: soak.py --url URL --pid PID --public P --private S --duration N
       [--workers 8] [--journal-capacity N] [--json FILE]
"""

import argparse
import base64
import collections
import datetime
import hashlib
import hmac
import http.client
import json
import random
import statistics
import sys
import threading
import time
import urllib.parse


def rss_kb(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


class Soak:
    def __init__(self, args):
        self.args = args
        u = urllib.parse.urlsplit(args.url)
        self.host, self.port = u.hostname, u.port
        self.deadline = time.monotonic() + args.duration
        self.lock = threading.Lock()
        self.counts = collections.Counter()  # (kind, status) -> n
        self.errors = collections.Counter()  # (kind, error) -> n
        self.requests = 0
        self.latencies = []
        self.journal_peak = 0  # the most journal entries /_mock/health reported
        # Learned from the world at start-up.
        self.dids = [1]
        self.pbids = []
        self.ips = ["10.0.0.1"]

    # -- signing ---------------------------------------------------------------
    def now(self):
        return datetime.datetime.now(datetime.timezone.utc)

    def headers(self, signed_target, secret=None, public=None, shift_s=0):
        public = public or self.args.public
        secret = secret or self.args.private
        date = (self.now() + datetime.timedelta(seconds=shift_s)).strftime("%Y%m%dT%H%M%S")
        msg = f"{signed_target}\n{public}\n{date}".encode()
        sig = hmac.new(secret.encode(), msg, hashlib.sha1).hexdigest()
        return {"DTAPI-Token": public, "DTAPI-Date": date, "DTAPI-Signature": sig}

    # -- one request -----------------------------------------------------------
    def send(self, conn, kind, method, target, headers=None, body=None):
        headers = dict(headers or {})
        if body is not None:
            headers["Content-Type"] = "application/json"
        started = time.monotonic()
        for attempt in range(2):
            try:
                conn.request(method, target, body=body, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
                status = resp.status
                break
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError) as e:
                # A keep-alive connection the mock closed between requests: retry once.
                conn.close()
                if attempt == 1:
                    with self.lock:
                        self.errors[(kind, type(e).__name__)] += 1
                        self.requests += 1
                    return None, b""
            except (OSError, http.client.HTTPException) as e:
                conn.close()
                with self.lock:
                    self.errors[(kind, type(e).__name__)] += 1
                    self.requests += 1
                return None, b""
        with self.lock:
            self.requests += 1
            self.counts[(kind, status)] += 1
            self.latencies.append(time.monotonic() - started)
        return status, data

    def signed(self, conn, kind, target):
        return self.send(conn, kind, "GET", target, self.headers(target))

    # -- the mix -----------------------------------------------------------------
    def window_ms(self, minutes=60):
        end = int(time.time() * 1000)
        return end - minutes * 60_000, end

    def search_json(self):
        terms = [
            "",
            "@type:conn",
            "@type:\"ssl\" AND @fields.dest_port:443",
            f"@fields.src_ip:\"{random.choice(self.ips)}\"",
            "@fields.dest_port:[1 TO 1024}",
            "NOT @type:dns",
        ]
        return {
            "search": random.choice(terms),
            "fields": [],
            "offset": random.choice([0, 0, 10]),
            "timeframe": random.choice(["3600", "86400", "600"]),
            "size": random.choice([5, 50]),
        }

    def one(self, conn, rng):
        r = rng.random()
        if r < 0.12:
            self.signed(conn, "status", "/status")
        elif r < 0.22:
            q = rng.choice(["", "?seensince=1hour", f"?did={rng.choice(self.dids)}",
                            f"?ip={rng.choice(self.ips)}", "?count=5"])
            self.signed(conn, "devices", "/devices" + q)
        elif r < 0.32:
            s, e = self.window_ms(rng.choice([5, 60, 600]))
            self.signed(conn, "details", f"/details?did={rng.choice(self.dids)}&starttime={s}&endtime={e}")
        elif r < 0.40:
            s, e = self.window_ms(rng.choice([60, 1440]))
            self.signed(conn, "modelbreaches", f"/modelbreaches?starttime={s}&endtime={e}&minimal=false&deviceattop=true")
        elif r < 0.44 and self.pbids:
            pbid = rng.choice(self.pbids)
            if rng.random() < 0.5:
                self.signed(conn, "modelbreach", f"/modelbreaches/{pbid}")
            else:
                self.signed(conn, "details-pbid", f"/details?pbid={pbid}")
        elif r < 0.54:
            seg = base64.urlsafe_b64encode(json.dumps(self.search_json()).encode()).decode().rstrip("=")
            self.signed(conn, "search-get", f"/advancedsearch/api/search/{seg}")
        elif r < 0.60:
            target = "/advancedsearch/api/search"
            body = json.dumps({"hash": base64.b64encode(json.dumps(self.search_json()).encode()).decode()})
            self.send(conn, "search-post", "POST", target, self.headers(f"{target}?{body}"), body)
        elif r < 0.65:
            self.send(conn, "wrong-secret", "GET", "/status", self.headers("/status", secret="not-the-secret"))
        elif r < 0.70:
            self.send(conn, "skewed", "GET", "/devices", self.headers("/devices", shift_s=rng.choice([-7200, 7200])))
        elif r < 0.74:
            self.send(conn, "unsigned", "GET", "/status")
        elif r < 0.77:
            self.send(conn, "unknown-token", "GET", "/status", self.headers("/status", public="nobody"))
        elif r < 0.79:
            self.signed(conn, "unknown-route", "/no/such/route")
        elif r < 0.82:
            self.send(conn, "admin-journal", "GET", f"/_mock/journal?limit={rng.choice([10, 100])}")
        elif r < 0.84:
            status, data = self.send(conn, "admin-health", "GET", "/_mock/health")
            if status == 200:
                n = json.loads(data).get("journal_entries", 0)
                with self.lock:
                    self.journal_peak = max(self.journal_peak, n)
        elif r < 0.87:
            spec = {"route": rng.choice(["/devices", "/details", "/status"]), "kind": "delay",
                    "ms": rng.choice([1, 5, 20]), "times": rng.choice([1, 3])}
            status, data = self.send(conn, "admin-fault-add", "POST", "/_mock/faults", body=json.dumps(spec))
            if status == 201 and rng.random() < 0.5:
                fid = json.loads(data)["id"]
                self.send(conn, "admin-fault-remove", "DELETE", f"/_mock/faults/{fid}")
        elif r < 0.89:
            self.send(conn, "admin-fault-list", "GET", "/_mock/faults")
        elif r < 0.90:
            self.send(conn, "admin-fault-clear", "DELETE", "/_mock/faults")
        elif r < 0.93:
            offset = rng.choice(["0s", "10s", "-20s", "45s"])
            self.send(conn, "admin-clock", "POST", "/_mock/clock", body=json.dumps({"offset": offset}))
        elif r < 0.94:
            self.send(conn, "admin-clock-get", "GET", "/_mock/clock")
        elif r < 0.9402:
            # Rare, so that the journal fills to its capacity between resets.
            self.send(conn, "admin-reset", "POST", "/_mock/reset", body="")
        else:
            # A body the auth layer refuses (signed over the wrong body).
            target = "/advancedsearch/api/search"
            body = "{\"hash\": \"not base64!\"}"
            self.send(conn, "search-bad", "POST", target, self.headers(f"{target}?{body}"), body)

    def worker(self, seed):
        rng = random.Random(seed)
        conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
        while time.monotonic() < self.deadline:
            self.one(conn, rng)
        conn.close()

    def learn(self):
        conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
        status, data = self.signed(conn, "setup", "/devices")
        if status == 200:
            devices = json.loads(data)
            self.dids = [d["did"] for d in devices if "did" in d][:50] or self.dids
            self.ips = [d["ip"] for d in devices if d.get("ip")][:50] or self.ips
        s, e = self.window_ms(1440)
        status, data = self.signed(conn, "setup", f"/modelbreaches?starttime={s}&endtime={e}")
        if status == 200:
            self.pbids = [b["pbid"] for b in json.loads(data) if "pbid" in b][:50]
        conn.close()

    def admin_json(self, target):
        conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
        try:
            conn.request("GET", target)
            r = conn.getresponse()
            return json.loads(r.read())
        finally:
            conn.close()


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--url", required=True)
    p.add_argument("--pid", type=int, required=True)
    p.add_argument("--public", required=True)
    p.add_argument("--private", required=True)
    p.add_argument("--duration", type=float, required=True)
    p.add_argument("--workers", type=int, default=8)
    p.add_argument("--journal-capacity", type=int, default=None)
    p.add_argument("--json", default=None, help="also write the summary here")
    args = p.parse_args()

    soak = Soak(args)
    soak.learn()
    samples = []  # (seconds since start, RSS kB)
    started = time.monotonic()
    stop = threading.Event()

    def sampler():
        while not stop.is_set():
            kb = rss_kb(args.pid)
            if kb is not None:
                samples.append((time.monotonic() - started, kb))
            stop.wait(1.0)

    sampler_thread = threading.Thread(target=sampler, daemon=True)
    sampler_thread.start()
    workers = [threading.Thread(target=soak.worker, args=(i,)) for i in range(args.workers)]
    for w in workers:
        w.start()
    last_report = started
    while any(w.is_alive() for w in workers):
        time.sleep(0.5)
        if time.monotonic() - last_report >= 60:
            last_report = time.monotonic()
            kb = samples[-1][1] if samples else 0
            print(f"  t={last_report - started:5.0f}s requests={soak.requests} rss={kb} kB", flush=True)
    for w in workers:
        w.join()
    elapsed = time.monotonic() - started
    stop.set()
    sampler_thread.join()
    alive = rss_kb(args.pid) is not None

    failures = []
    five = sum(n for (k, s), n in soak.counts.items() if s >= 500)
    lost = sum(soak.errors.values())
    ok_status = soak.counts[("status", 200)]
    all_status = sum(n for (k, s), n in soak.counts.items() if k == "status")
    health = journal_len = faults_len = None
    if alive:
        try:
            health = soak.admin_json("/_mock/health")
            journal_len = len(soak.admin_json("/_mock/journal"))
            faults_len = len(soak.admin_json("/_mock/faults"))
        except (OSError, ValueError, http.client.HTTPException) as e:
            failures.append(f"the admin API did not answer at the end: {e}")

    warm_at = 0.2 * args.duration
    after = [kb for t, kb in samples if t >= warm_at]
    warm = after[0] if after else None
    end = statistics.median([kb for _, kb in samples[-3:]]) if samples else None
    peak = max(kb for _, kb in samples) if samples else None
    growth = (end - warm) / warm * 100 if warm and end else None

    if not alive:
        failures.append("the mock died during the soak")
    if five:
        failures.append(f"{five} answers were 5xx")
    if lost:
        failures.append(f"{lost} requests lost their connection")
    if all_status == 0 or ok_status < 0.99 * all_status:
        failures.append(f"signed /status accepted {ok_status} of {all_status} times")
    if args.journal_capacity is not None and max(journal_len or 0, soak.journal_peak) > args.journal_capacity:
        failures.append(f"the journal held {max(journal_len or 0, soak.journal_peak)} entries (capacity {args.journal_capacity})")
    if faults_len is not None and faults_len > 1000:
        failures.append(f"{faults_len} faults are installed")
    if args.duration >= 60 and growth is not None and growth > 10:
        failures.append(f"RSS grew {growth:.1f}% after warm-up (limit 10%)")

    print(f"duration: {elapsed:.0f} s, workers: {args.workers}")
    print(f"requests: {soak.requests} ({soak.requests / elapsed:.0f}/s)")
    if soak.latencies:
        lat = sorted(soak.latencies)
        print(f"latency: p50 {lat[len(lat) // 2] * 1000:.1f} ms, p99 {lat[int(len(lat) * 0.99)] * 1000:.1f} ms")
    by_kind = collections.defaultdict(dict)
    for (k, s), n in sorted(soak.counts.items()):
        by_kind[k][s] = n
    for k, statuses in sorted(by_kind.items()):
        print(f"  {k:20s} " + ", ".join(f"{s}: {n}" for s, n in sorted(statuses.items())))
    for (k, e), n in sorted(soak.errors.items()):
        print(f"  {k:20s} connection error {e}: {n}")
    print(f"5xx: {five}")
    print(f"lost connections: {lost}")
    if health is not None:
        print(f"journal entries: peak {soak.journal_peak}, at the end {journal_len} (capacity {args.journal_capacity}); faults installed at the end: {faults_len}")
    print(f"rss samples: {len(samples)}")
    if warm is not None:
        print(f"rss after warm-up (t={warm_at:.0f}s): {warm} kB")
        print(f"rss at the end: {end:.0f} kB (peak {peak} kB)")
        print(f"rss growth after warm-up: {growth:+.1f}%" + ("" if args.duration >= 60 else " (not judged: run shorter than 60 s)"))
    summary = {
        "duration_s": round(elapsed, 1), "workers": args.workers, "requests": soak.requests,
        "five_xx": five, "lost": lost, "rss_warm_kb": warm, "rss_end_kb": end, "rss_peak_kb": peak,
        "rss_growth_pct": None if growth is None else round(growth, 2),
        "journal_entries": journal_len, "journal_peak": soak.journal_peak, "faults": faults_len,
        "statuses": {k: {str(s): n for s, n in v.items()} for k, v in by_kind.items()},
        "failures": failures,
    }
    if args.json:
        with open(args.json, "w") as f:
            json.dump(summary, f, indent=2)
    if failures:
        for f in failures:
            print(f"FAIL: {f}", file=sys.stderr)
        return 1
    print("soak: passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
