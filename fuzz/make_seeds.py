#!/usr/bin/env python3
"""Writes the checked-in seed corpus, fuzz/corpus/<target>/<name>.

Seeds are small realistic inputs for each target (see the input formats in the
targets' doc comments). Run from anywhere: python3 fuzz/make_seeds.py. Regression
seeds (crashes found and fixed) are added by hand as corpus/<target>/regress-*.
"""
import base64
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))


def b64(obj, alphabet="std", pad=True):
    raw = json.dumps(obj, separators=(",", ":")).encode()
    s = base64.b64encode(raw) if alphabet == "std" else base64.urlsafe_b64encode(raw)
    return s if pad else s.rstrip(b"=")


Q = {"search": "@type:\"ssl\" AND @fields.dest_port:443", "fields": [], "offset": 0,
     "timeframe": "3600", "size": 5}
CUSTOM = {"search": "@fields.src_ip:(\"10.0.0.1\" OR \"10.0.0.2\")", "fields": [],
          "offset": 0, "timeframe": "custom",
          "time": {"from": "2023-11-14T20:00:00.000Z", "to": "2023-11-14T22:13:20.000Z"},
          "size": 50}

with open(os.path.join(HERE, "..", "fixtures", "appliance", "status.json"), "rb") as f:
    STATUS = f.read()

SEARCH_ANSWER = json.dumps({
    "took": 1, "timed_out": False,
    "hits": {"total": 1, "max_score": None, "hits": [{
        "_index": "logstash-darktrace-2024.05.01", "_id": "AYx1",
        "_source": {"@timestamp": "2024-05-01T11:58:00", "@type": "conn",
                    "@fields": {"src_ip": "10.0.0.1", "dest_ip": "10.0.0.2",
                                "src_port": 51000, "dest_port": 443, "proto": "tcp",
                                "epochdate": 1714564680.5}}}]}}).encode()
BREACHES = json.dumps([{"pbid": 7, "time": 1714564680000, "score": 0.8,
                        "model": {"name": "Device::Anomalous Connection"},
                        "device": {"did": 3, "ip": "10.0.0.1", "hostname": "ws-1"}}]).encode()
DETAILS = json.dumps([{"time": 1714564680000, "timems": 1714564680000, "eventType": "connection",
                       "uid": "C1", "sourceIP": "10.0.0.1", "destinationIP": "10.0.0.2",
                       "sourcePort": 51000, "destinationPort": 443, "protocol": "TCP"}]).encode()
DEVICES = json.dumps([{"did": 3, "ip": "10.0.0.1", "hostname": "ws-1"},
                      {"did": 9, "ip": "10.0.0.1"}]).encode()

DATE = b"20240501T120000"
SIG = b"0123456789abcdef0123456789abcdef01234567"

SEEDS = {
    "verify": {
        # control byte (sign mode | format << 2), i16 shift, then the request.
        "signed-status": b"\x01\x00\x00GET /status\n\n",
        "signed-iso-decoded": b"\x0a\x00\x00GET /modelbreaches?from=2024-05-01%2011%3A00%3A00&to=2024-05-01+12:00:00\n\n",
        "signed-body": b"\x03\x00\x00POST /advancedsearch/api/search\nContent-Type: application/json\n\n{\"hash\":\"eyJzZWFyY2giOiIqIn0=\"}",
        "skewed-hour": b"\x05\x0e\x10GET /devices?did=1\n\n",
        "skew-at-limit": b"\x01\x07\x08GET /status\n\n",
        "duplicate-signature": b"\x01\x00\x00GET /status\nDTAPI-Signature: " + SIG + b"\n\n",
        "hand-headers": b"\x00\x00\x00GET /status\nDTAPI-Token: PUBTOKEN\nDTAPI-Date: " + DATE + b"\nDTAPI-Signature: " + SIG + b"\n\n",
        "offset-date": b"\x00\x00\x00GET /status\nDTAPI-Token: PUBTOKEN\nDTAPI-Date: 2024-05-01T14:00:00+02:00\nDTAPI-Signature: " + SIG + b"\n\n",
        "missing-headers": b"\x00\x00\x00GET /details?pbid=7\nHost: appliance\n\n",
        "unknown-token": b"\x00\x00\x00GET /status\nDTAPI-Token: someone-else\nDTAPI-Date: " + DATE + b"\nDTAPI-Signature: " + SIG + b"\n\n",
        "prefix-path": b"\x00\x00\x00GET /darktrace/status\nDTAPI-Token: PUBTOKEN\nDTAPI-Date: 2024-05-01 12:00:00\nDTAPI-Signature: " + SIG + b"\n\n",
    },
    "date": {
        "compact": b"20200415T133400",
        "spaced": b"2020-04-15 13:34:00",
        "iso-z": b"2020-04-15T13:34:00Z",
        "iso-millis": b"2020-04-15T13:34:00.000Z",
        "iso-offset": b"2020-04-15T15:34:00+02:00",
        "iso-nanos": b"2020-04-15T13:34:00.123456789",
        "max": b"9999-12-31T23:59:59Z",
        "min": b"0000-01-01 00:00:00",
        "leap-day": b"2024-02-29T00:00:00-00:30",
        "duration": b"-45m",
    },
    "query": {
        # selector byte (method % 4, 0x10: a body), then the target.
        "encoded-window": b"\x00/modelbreaches?from=2024-05-01%2011%3A00%3A00&to=2024-05-01+12:00:00",
        "plain": b"\x00/details?did=1&starttime=1714560000000&endtime=1714564800000",
        "bad-escapes": b"\x00/devices?ip=%zz&x=%&y=%4",
        "repeats": b"\x00/devices?saasfilter=a&saasfilter=b&x&&y=%20",
        "post-body": b"\x11/advancedsearch/api/search?ignored=1",
        "two-marks": b"\x02/a?b=1?c",
        "trailing-mark": b"\x00/status?",
    },
    "search_decode": {
        # selector byte: 0 GET segment, 1 query JSON, 2 POST body.
        "get-std": b"\x00" + b64(Q),
        "get-urlsafe": b"\x00" + b64(Q, "url", pad=False),
        "get-escaped": b"\x00" + b64(CUSTOM).replace(b"=", b"%3D").replace(b"/", b"%2F").replace(b"+", b"%2B"),
        "json-custom": b"\x01" + json.dumps(CUSTOM).encode(),
        "json-bad-range": b"\x01" + json.dumps({"search": "", "timeframe": "custom", "time": {"from": "2023-11-15T00:00:00Z", "to": "2023-11-14T00:00:00Z"}}).encode(),
        "json-strings": b"\x01" + json.dumps({"search": "*", "offset": "10", "size": "20000", "timeframe": "86400"}).encode(),
        "post": b"\x02" + json.dumps({"hash": b64(Q).decode()}).encode(),
    },
    "search_parse": {
        "and": b"@type:\"ssl\" AND @fields.dest_port:443",
        "or-group": b"@fields.src_ip:(\"10.0.0.1\" OR \"10.0.0.2\")",
        "not": b"NOT @type:dns",
        "must-not": b"-@type:dns @fields.proto:tcp +@fields.dest_port:53",
        "range": b"@fields.dest_port:[1 TO 1024}",
        "open-range": b"@fields.bytes:>=100",
        "wildcard": b"@fields.host:ws-*.corp? OR host*",
        "all": b"*:*",
        "phrase": b"\"TRAFFIC deny\" AND @fields.msg_s:\"a \\\"quoted\\\" word\"",
        "nested": b"((a OR (b AND NOT c)) AND !(d))",
        "ipv6": b"@fields.src_ip:\"fe80::1\" OR @fields.dest_ip:fe80\\:\\:2",
    },
    "config": {
        "example": open(os.path.join(HERE, "..", "fixtures", "client", "example-config.toml"), "rb").read(),
        "json": json.dumps({"host": "appliance.example", "port": 443, "protocol": "https",
                            "api_key": "pub", "api_secret": "priv", "timeout": 30,
                            "use_advanced_search": True, "field_map": {"description": ["@fields.msg_s"]},
                            "query_time": 5, "limit": 100, "mode": "legacy",
                            "queries": [{"name": "q", "query": "@fields.src_ip:(%IPS%)"}]}).encode(),
        "toml-proxy": b"host = \"10.0.0.5\"\nproxy = \"http://user:pw@proxy:3128\"\nevent_time_adjustment = -3600\nmode = \"msi\"\n",
        "unknown-key": b"{\"host\": \"h\", \"nonsense\": 1}",
    },
    "client_parsers": {
        # first line: STATUS ENDPOINT [LOCATION [ADJUST_SECONDS]]; then the body.
        "status": b"200 status\n" + STATUS,
        "devices-health": b"200 devices\n" + DEVICES,
        "search": b"200 search - 3600\n" + SEARCH_ANSWER,
        "search-bad-range": b"200 search\n{\"error\": \"Invalid to/from fields in custom range\"}",
        "breaches": b"200 modelbreaches\n" + BREACHES,
        "details": b"200 details - -60\n" + DETAILS,
        "devices-ip": b"200 devices-ip\n" + DEVICES,
        "signature-error": b"400 status\n{\n  \"status\": \"API SIGNATURE ERROR\"\n}",
        "login-redirect": b"302 status /login\n",
        "forbidden": b"302 devices https://appliance/403\n",
        "login-page": b"200 status\n<html><head><title>Log In | Darktrace</title></head></html>",
        "truncated": b"200 search\n" + SEARCH_ANSWER[: len(SEARCH_ANSWER) // 2],
        "proxy-page": b"502 search\n<html><head><title>502 Bad Gateway</title></head></html>",
    },
    "capture": {
        "curl": b"curl -sS 'https://appliance/modelbreaches?from=2024-05-01%2011%3A00%3A00' -H 'DTAPI-Token: PUBTOKEN' -H 'DTAPI-Date: " + DATE + b"' -H 'DTAPI-Signature: " + SIG + b"'",
        "curl-post": b"curl -X POST https://appliance/advancedsearch/api/search \\\n  -H \"DTAPI-Token: PUBTOKEN\" -H \"DTAPI-Date: 2024-05-01 12:00:00\" \\\n  -H \"DTAPI-Signature: " + SIG + b"\" --data-raw '{\"hash\":\"eyJzZWFyY2giOiIqIn0=\"}'",
        "http": b"GET /status HTTP/1.1\r\nHost: appliance\r\nDTAPI-Token: PUBTOKEN\r\nDTAPI-Date: " + DATE + b"\r\nDTAPI-Signature: " + SIG + b"\r\n\r\n",
        "http-duplicate": b"GET /status HTTP/1.1\nDTAPI-Token: PUBTOKEN\nDTAPI-Date: " + DATE + b"\nDTAPI-Signature: " + SIG + b"\nDTAPI-Signature: " + SIG + b"\n\n",
        "har": json.dumps({"log": {"entries": [{"request": {
            "method": "GET", "url": "https://appliance/devices?did=3",
            "headers": [{"name": "DTAPI-Token", "value": "PUBTOKEN"},
                        {"name": "DTAPI-Date", "value": "2024-05-01T12:00:00Z"},
                        {"name": "DTAPI-Signature", "value": SIG.decode()}]}}]}}).encode(),
        "header-lines": b"Request URL: https://appliance/details?pbid=7\nDTAPI-Token: PUBTOKEN\nDTAPI-Date: " + DATE + b"\nDTAPI-Signature: " + SIG + b"\n",
        "swapped": b"GET /status HTTP/1.1\r\nDTAPI-Token: PRIVTOKEN-fuzz-Zq9x\r\nDTAPI-Date: " + DATE + b"\r\nDTAPI-Signature: " + SIG + b"\r\n\r\n",
    },
}

for target, seeds in SEEDS.items():
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    for name, data in seeds.items():
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)
print(sum(len(s) for s in SEEDS.values()), "seeds written")
