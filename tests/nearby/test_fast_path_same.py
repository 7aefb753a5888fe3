"""The fast path answers a search exactly as the route does: the same request, sent once
on the fast path and once with the fast path turned off, gets the same status, headers
and body, whatever the request."""

import json
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.exc import OperationalError
from starlette.datastructures import QueryParams

from app.nearby import service
from app.nearby.router import _parameters
from tests.alerts.cap_samples import message
from tests.core.test_fastpath import behind_fast_path, make_app
from tests.nearby.test_router import CENTER
from tests.uses.test_router import COOL_SPOT, PARKING

NEARBY = "/v1/parking/nearby"
USES = "/v1/uses/nearby"
AROUND = f"lon={CENTER[0]}&lat={CENTER[1]}&radius=3000"
NEVER = re.compile("(?!)")
# Headers that differ between any two answers
MOMENT = {"date", "content-length", "content-encoding"}


@pytest.fixture
def app(settings, connection):
    return make_app(settings, connection)


@pytest.fixture
def both(app, place):
    inner = behind_fast_path(app)
    for i in range(1, 4):
        place(CENTER[0] + 0.001 * i, CENTER[1])
    place(CENTER[0] + 0.002, CENTER[1], use=COOL_SPOT)
    client = TestClient(app)
    layer = app.fast_path

    def ask(method: str, url: str, **kwargs):
        before = inner.calls
        quick = client.request(method, url, **kwargs)
        took_fast_path = inner.calls == before
        layer.any, kept = NEVER, layer.any
        try:
            routed = client.request(method, url, **kwargs)
        finally:
            layer.any = kept
        return quick, routed, took_fast_path

    return ask


def same(quick, routed) -> None:
    assert quick.status_code == routed.status_code, (quick.text, routed.text)
    assert {k: v for k, v in quick.headers.items() if k not in MOMENT} == {
        k: v for k, v in routed.headers.items() if k not in MOMENT
    }
    if quick.content and quick.headers.get("content-type") == "application/json":
        a, b = quick.json(), routed.json()
        a.pop("generated_at", None), b.pop("generated_at", None)
        assert a == b
    else:
        assert quick.content == routed.content


ORIGIN = {"Origin": "https://map.example.org"}


@pytest.mark.parametrize(
    ("query", "fast"),
    [
        (AROUND, True),
        (f"{AROUND}&fields=facility_id,distance_m", True),
        (f"{AROUND}&fields=", None),
        (f"{AROUND}&fields=facility_id,facility_id", None),
        (f"{AROUND}&limit=1&limit=2", None),  # duplicate parameters: the last, as the route
        (f"l%6Fn={CENTER[0]}&lat={CENTER[1]}", None),  # a percent-encoded name
        (f"{AROUND}&lon%00=1", False),
        (f"{AROUND}&ev=%00", False),
        (f"{AROUND}&ev=%E4%B8%AD", False),  # unicode value
        (f"{AROUND}&%E4%B8%AD=1", False),  # unicode name
        (f"{AROUND}&coordsys=gcj02", None),
        (f"{AROUND}&coordsys=bd09", None),
        (f"{AROUND}&coordsys=GCJ02", None),
        ("lon=2.35&lat=48.85", False),  # Paris
        ("lon=nan&lat=31", False),
        ("lon=inf&lat=31", False),
        (f"{AROUND}&" + "x" * 6000 + "=1", False),
        (f"{AROUND}&max_height=1e400", None),
        (f"{AROUND}&min_free=0", None),
        (f"{AROUND}&open_now=true", False),
    ],
)
@pytest.mark.parametrize("path", [NEARBY, USES])
@pytest.mark.parametrize("head", [False, True])
def test_the_fast_path_answers_as_the_route(both, path, query, fast, head):
    if path == USES:
        query = f"{query}&type={COOL_SPOT['type']}"
    for headers in ({}, ORIGIN, {"Accept-Encoding": "gzip"}):
        quick, routed, took = both("HEAD" if head else "GET", f"{path}?{query}", headers=headers)
        same(quick, routed)
        if fast is not None:
            assert took == (fast and quick.status_code == 200)


def test_alert_mode_is_answered_as_the_route_to_each_kind_of_caller(app, both, make_key):
    authority = TestClient(app, headers={"Authorization": f"Bearer {make_key('alert_authority')}"})
    here = "31.80,117.20 31.80,117.25 31.84,117.25 31.84,117.20 31.80,117.20"  # lat,lon
    posted = authority.post(
        "/v1/alerts",
        content=message("RAID-SAME", polygon=here),
        headers={"Content-Type": "application/xml"},
    )
    assert posted.status_code == 201, posted.text
    for role in (None, "app", "gis", "admin"):
        headers = {} if role is None else {"Authorization": f"Bearer {make_key(role)}"}
        TestClient(app).get("/v1/me", headers=headers)  # the key is known from now on
        quick, routed, took = both("GET", f"{NEARBY}?{AROUND}", headers=headers)
        same(quick, routed)
        assert took and quick.json()["alert_mode"] is True


def test_a_token_per_search_on_the_fast_path_or_past_it(settings, connection, place):
    app = make_app(settings, connection, read_rate_per_minute=1, read_burst=5)
    inner = behind_fast_path(app)
    place(CENTER[0] + 0.001, CENTER[1])
    client = TestClient(app)
    statuses = [
        client.get(f"{NEARBY}?{AROUND}").status_code,  # fast path
        client.get(f"{NEARBY}?{AROUND}&open_now=true").status_code,  # passed on once admitted
        client.get(f"{NEARBY}?{AROUND}&radius=0").status_code,  # passed on, refused by the route
        client.head(f"{NEARBY}?{AROUND}").status_code,
        client.get(f"{USES}?{AROUND}&type={COOL_SPOT['type']}").status_code,
        client.get(f"{NEARBY}?{AROUND}").status_code,  # the sixth: no token left
    ]
    assert statuses == [200, 200, 422, 200, 200, 429]
    assert inner.calls == 2


def test_a_caller_who_just_wrote_is_answered_by_the_route(settings, connection, place, make_key):
    replicated = {"database_replica_urls": [settings.database_url], "max_replica_lag_s": 1}
    app = make_app(settings, connection, **replicated)
    inner = behind_fast_path(app)
    writer = TestClient(app, headers={"Authorization": f"Bearer {make_key('admin')}"})
    reader = TestClient(app, headers={"Authorization": f"Bearer {make_key('gis')}"})
    place(CENTER[0] + 0.001, CENTER[1])
    for client in (writer, reader):
        client.get("/v1/me")  # the key is known from now on
    calls = inner.calls
    assert writer.get(f"{NEARBY}?{AROUND}").status_code == 200
    assert inner.calls == calls
    assert writer.post("/v1/facilities", json={}).status_code == 422  # a write, refused or not
    assert writer.get(f"{NEARBY}?{AROUND}").status_code == 200
    assert inner.calls == calls + 2  # the write, and the read the gate sends to the primary
    assert reader.get(f"{NEARBY}?{AROUND}").status_code == 200
    assert inner.calls == calls + 2


@pytest.mark.parametrize("path", [NEARBY, USES])
def test_a_database_away_mid_search_is_a_503(both, monkeypatch, path):
    def away(*args, **kwargs):
        raise OperationalError("SELECT", {}, Exception("connection refused"))

    monkeypatch.setattr(service, "search", away)
    query = AROUND if path == NEARBY else f"{AROUND}&type={COOL_SPOT['type']}"
    quick, routed, _ = both("GET", f"{path}?{query}")
    assert quick.status_code == 503, quick.text
    assert quick.headers["content-type"].startswith("application/problem+json")
    same(quick, routed)


# Every kind of character a name may hold: Chinese, an emoji (four bytes), JSON's quote
# and backslash, control characters, JS line separators, URI-reserved characters, and
# text that reads as an escape; long, to cross any buffer's edge.
ODD_NAME = '合肥😀"q\\b/\t\n\x01\x1f\x7f\u2028 &#%+? \\u0000 ' + "名" * 150


@pytest.mark.parametrize(
    "query", ["", "&fields=facility_id,name,navigation", "&coordsys=gcj02", "&coordsys=bd09"]
)
def test_names_of_every_character_go_to_the_wire_as_utf8_json(both, place, query):
    # Items are PostgreSQL's UTF-8 joined as bytes (db.session.utf8_rows, splice_items).
    by_use = place(CENTER[0] + 0.0005, CENTER[1], use={**PARKING, "name": ODD_NAME})
    unnamed = {k: v for k, v in PARKING.items() if k != "name"}
    by_work = place(CENTER[0] + 0.0006, CENTER[1], use=unnamed, name=ODD_NAME)
    for coding in ("identity", "gzip", "br", "zstd"):
        headers = {"Accept-Encoding": coding}
        quick, routed, took = both("GET", f"{NEARBY}?{AROUND}{query}", headers=headers)
        same(quick, routed)
        assert took
        items = json.loads(quick.content.decode("utf-8"))["items"]
        named = [item for item in items if item["facility_id"] in (by_use, by_work)]
        assert [item["name"] for item in named] == [ODD_NAME, ODD_NAME]
        for link in named[0]["navigation"].values():
            values = [v for vs in parse_qs(urlsplit(link).query).values() for v in vs]
            assert any(v.endswith(ODD_NAME) for v in values), link


@pytest.mark.parametrize(
    "query",
    [
        "",
        "lon=117.2&lat=31.8",
        "limit=5&limit=7",
        "open_now",
        "radius=&limit=",
        "=1&&a=2&",
        "a=b=c",
        "a=1;b=2",
        "name=%E6%B2%B9&x=1",
        "q=a+b",
        "lon=\xe9",
    ],
)
def test_parameters_are_read_as_the_route_reads_them(query):
    """The fast path splits a query string by hand when nothing in it is escaped; each
    name gets the value the route's Starlette QueryParams gives it (the last one sent)."""
    assert _parameters(query) == dict(QueryParams(query).items())
