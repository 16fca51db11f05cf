"""Schemathesis hooks for ci/schemathesis.sh.

Loaded with SCHEMATHESIS_HOOKS=schemathesis_hooks (this directory on PYTHONPATH).
Environment: DT_SCHEMATHESIS_URL (the mock), DT_SCHEMATHESIS_PUBLIC and
DT_SCHEMATHESIS_PRIVATE (its token pair).

1. Auth: every request is signed the appliance way. The signature is computed in a
   `requests` auth object registered as Schemathesis's auth provider, so it runs on the
   final prepared request: the signed target is `PreparedRequest.path_url`, the path and
   query exactly as they go on the wire (the mock verifies the target as transmitted).
   For a POST with a body the appliance signs `<path>?<body as sent>` (reference §1.8).

       DTAPI-Date       UTC now, %Y%m%dT%H%M%S
       DTAPI-Signature  hex HMAC-SHA1(private, "<target>\\n<public>\\n<date>")

2. Data: the OpenAPI document cannot say "base64 of a query JSON" or "a did that
   exists", so random values would almost never reach the search engine or a real
   device. Two flatmap hooks widen the generated data (they never narrow it: the value
   Schemathesis generated is kept as one of the choices):
   - advanced search (GET path segment, POST `hash`): base64 of generated query objects,
     with Lucene-ish search text and odd `offset`/`size`/`timeframe`/`time` values;
   - query parameters naming an object (`did`, `pbid`, `ip`, ...): sometimes one that
     exists in the running mock's world, fetched once at start.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlsplit

import requests
import schemathesis
from hypothesis import strategies as st

URL = os.environ["DT_SCHEMATHESIS_URL"].rstrip("/")
PUBLIC = os.environ["DT_SCHEMATHESIS_PUBLIC"]
PRIVATE = os.environ["DT_SCHEMATHESIS_PRIVATE"]


# ---------------------------------------------------------------------------- signing


def signed_target(request: requests.PreparedRequest) -> bytes:
    """What the appliance hashes for this request, as bytes."""
    body = request.body
    if isinstance(body, str):
        body = body.encode("utf-8")
    if body and request.method not in ("GET", "DELETE"):
        return (urlsplit(request.url).path or "/").encode("utf-8") + b"?" + body
    # path_url is the request-line target: the path and, when not empty, "?" and the query.
    return request.path_url.encode("utf-8")


def signature(private: str, target: bytes, public: str, date: str) -> str:
    message = target + b"\n" + public.encode("utf-8") + b"\n" + date.encode("utf-8")
    return hmac.new(private.encode("utf-8"), message, hashlib.sha1).hexdigest()


class DtapiAuth(requests.auth.AuthBase):
    """Signs a prepared request with the three DTAPI headers."""

    def __init__(self, public: str, private: str) -> None:
        self.public = public
        self.private = private

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        date = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S")
        request.headers["DTAPI-Token"] = self.public
        request.headers["DTAPI-Date"] = date
        request.headers["DTAPI-Signature"] = signature(
            self.private, signed_target(request), self.public, date
        )
        return request


AUTH = DtapiAuth(PUBLIC, PRIVATE)
schemathesis.auth.set_from_requests(AUTH)


# ---------------------------------------------------------------------------- the world


def _get(target: str) -> Any:
    r = requests.get(URL + target, auth=AUTH, timeout=30, allow_redirects=False)
    r.raise_for_status()
    return r.json()


def _known() -> dict[str, list[Any]]:
    devices = _get("/devices?seensince=3650days")
    breaches = _get("/modelbreaches?includeacknowledged=true&historicmodelonly=true&minimal=true")
    known = {
        "did": sorted({d["did"] for d in devices}),
        "ddid": sorted({d["did"] for d in devices}),
        "odid": sorted({d["did"] for d in devices}),
        "sid": sorted({d["sid"] for d in devices}),
        "ip": sorted({d["ip"] for d in devices}),
        "mac": sorted({d["macaddress"] for d in devices if "macaddress" in d}),
        "pbid": sorted({b["pbid"] for b in breaches}),
        "pid": sorted({b["model"]["pid"] for b in breaches}),
        "uuid": sorted({b["model"]["uuid"] for b in breaches}),
    }
    return {k: v for k, v in known.items() if v}


KNOWN = _known()


def _with_known(values: dict[str, Any]) -> st.SearchStrategy:
    """The generated values, or the same with some object names replaced by real ones."""
    names = [k for k in values if k in KNOWN]
    if not names:
        return st.just(values)
    replaced = st.fixed_dictionaries({}, optional={k: st.sampled_from(KNOWN[k]) for k in names})
    return st.one_of(st.just(values), replaced.map(lambda r: {**values, **r}))


@schemathesis.hook("flatmap_query")
def known_objects(context: Any, query: Any) -> st.SearchStrategy:
    if not isinstance(query, dict):
        return st.just(query)
    return _with_known(query)


@schemathesis.hook("flatmap_path_parameters").apply_to(operation_id="getModelBreach")
def known_breach(context: Any, path_parameters: Any) -> st.SearchStrategy:
    if not isinstance(path_parameters, dict) or "pbid" not in path_parameters:
        return st.just(path_parameters)
    return _with_known(path_parameters)


# ---------------------------------------------------------------------------- searches

_TOKENS = [
    "@type:conn", "@type:dns", "@type:ssl", "@type:http", "@type:firewall", "@type:ids",
    "@fields.source_ip:10.10.*", "@fields.dest_port:443", "@fields.dest_port:[1 TO 1024]",
    "@fields.dest_port:>1000", "@fields.proto:udp", "@fields.query:*.example.com",
    "AND", "OR", "NOT", "(", ")", "-", "+", "!", "\"", "*", "?", ":", "[", "]", "{", "}",
    "\\", "~", "^", "TO", "10.10.1.11", "lt-dave-01", "example", "a", "",
]
_search_text = st.one_of(
    st.lists(st.sampled_from(_TOKENS), max_size=8).map(" ".join),
    st.lists(st.sampled_from(_TOKENS), max_size=8).map("".join),
    st.text(max_size=40),
)
_numberish = st.one_of(
    st.none(),
    st.integers(min_value=-2, max_value=12_000),
    st.integers(),
    st.floats(),
    st.sampled_from(["", " 7 ", "0", "50", "1e3", "-1", "10001", "custom", "3600", "86400"]),
    st.text(max_size=6),
    st.booleans(),
    st.lists(st.integers(), max_size=2),
)
_timeish = st.one_of(
    st.none(),
    st.datetimes().map(lambda t: t.isoformat() + "Z"),
    st.datetimes().map(lambda t: t.isoformat(sep=" ", timespec="seconds")),
    st.datetimes().map(lambda t: t.strftime("%Y%m%dT%H%M%S")),
    st.integers(),
    st.text(max_size=25),
)
_query = st.fixed_dictionaries(
    {},
    optional={
        "search": st.one_of(_search_text, st.none(), st.integers()),
        "fields": st.just([]),
        "offset": _numberish,
        "size": _numberish,
        "timeframe": st.one_of(_numberish, st.just("custom")),
        "time": st.one_of(
            st.fixed_dictionaries({}, optional={"from": _timeish, "to": _timeish, "user_interval": _numberish}),
            st.text(max_size=5),
        ),
    },
)
_query_json = st.one_of(
    _query.map(lambda q: json.dumps(q, allow_nan=True)),
    st.sampled_from(["", "{", "[]", "null", "\"x\"", "{\"search\": \"@type:conn\"} trailing"]),
)


def _encode(text: str, how: int) -> str:
    raw = text.encode("utf-8")
    if how == 0:
        return base64.b64encode(raw).decode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


_encoded = st.builds(_encode, _query_json, st.integers(min_value=0, max_value=1)).filter(bool)


@schemathesis.hook("flatmap_path_parameters").apply_to(operation_id="advancedSearchGet")
def search_segment(context: Any, path_parameters: Any) -> st.SearchStrategy:
    if not isinstance(path_parameters, dict):
        return st.just(path_parameters)
    return st.one_of(st.just(path_parameters), _encoded.map(lambda q: {**path_parameters, "query": q}))


@schemathesis.hook("flatmap_body").apply_to(operation_id="advancedSearchPost")
def search_body(context: Any, body: Any) -> st.SearchStrategy:
    return st.one_of(st.just(body), _encoded.map(lambda q: {"hash": q}))
