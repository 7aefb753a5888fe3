"""The car park and use searches on the fast path (app.core.fastpath): the common request
is answered without the framework, by the same code as the routes, under the same rules;
anything else reaches the route, which explains what is wrong."""

import pytest
from fastapi.testclient import TestClient

from tests.core.test_fastpath import behind_fast_path, make_app
from tests.nearby.test_router import CENTER
from tests.uses.test_router import COOL_SPOT

NEARBY = "/v1/parking/nearby"
AROUND = {"lon": CENTER[0], "lat": CENTER[1], "radius": 3000}


@pytest.fixture
def fast(settings, connection):
    app = make_app(settings, connection)
    return TestClient(app), behind_fast_path(app)


def test_a_search_skips_the_framework_and_answers_as_the_route(fast, place):
    client, inner = fast
    ids = [place(CENTER[0] + 0.001 * i, CENTER[1]) for i in range(1, 4)]
    calls = inner.calls
    quick = client.get(NEARBY, params={**AROUND, "fields": "facility_id,distance_m"})
    assert inner.calls == calls
    # open_now goes to the route (it reads on a worker thread): the same places
    routed = client.get(
        NEARBY, params={**AROUND, "fields": "facility_id,distance_m", "open_now": "true"}
    )
    assert inner.calls == calls + 1
    assert [i["facility_id"] for i in quick.json()["items"]] == ids
    assert quick.json()["items"] == routed.json()["items"]
    assert quick.json()["alert_mode"] is False and quick.json()["alerts"] == []
    for name in ("content-type", "cache-control", "vary", "access-control-allow-origin"):
        assert quick.headers[name] == routed.headers[name], name


def test_the_fast_path_compresses_as_the_middleware_does(fast, place):
    client, inner = fast
    for i in range(1, 30):
        place(CENTER[0] + 0.0005 * i, CENTER[1])
    calls = inner.calls
    plain = client.get(
        NEARBY, params={**AROUND, "limit": 30}, headers={"Accept-Encoding": "identity"}
    )
    coded = client.get(NEARBY, params={**AROUND, "limit": 30}, headers={"Accept-Encoding": "gzip"})
    assert coded.headers["content-encoding"] == "gzip"
    assert int(coded.headers["content-length"]) < int(plain.headers["content-length"])
    assert "content-encoding" not in plain.headers
    assert plain.headers["vary"] == coded.headers["vary"] == "Accept-Encoding"
    assert coded.json()["items"] == plain.json()["items"]  # httpx took the coding off
    head = client.head(NEARBY, params={**AROUND, "limit": 30})
    assert head.status_code == 200 and head.content == b""
    assert inner.calls == calls


@pytest.mark.parametrize(
    ("params", "status", "named"),
    [
        ({"lon": "east"}, 422, "lon"),
        ({"radius": 0}, 422, "radius"),
        ({"lon": 2.35, "lat": 48.85}, 422, "lon"),  # Paris: outside China
        ({"colour": "red"}, 400, "colour"),
        ({"fields": "nothing_such"}, 422, "fields"),
        ({"type": "gym"}, 400, "type"),  # a parameter of the uses search only
        ({"lat": "31.8\x00"}, 422, "lat"),
    ],
)
def test_bad_input_reaches_the_route_and_is_explained(fast, params, status, named):
    client, inner = fast
    answer = client.get(NEARBY, params={**AROUND, **params})
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert named in answer.text
    assert inner.calls == 1


def test_the_uses_search_takes_the_fast_path_too(fast, place):
    client, inner = fast
    spot = place(CENTER[0] + 0.001, CENTER[1], use=COOL_SPOT)
    calls = inner.calls
    found = client.get("/v1/uses/nearby", params={**AROUND, "type": COOL_SPOT["type"]})
    assert [i["facility_id"] for i in found.json()["items"]] == [spot]
    assert inner.calls == calls
    assert client.get("/v1/uses/nearby", params=AROUND).status_code == 422  # no type
    assert inner.calls == calls + 1


def test_a_bad_key_is_refused_before_a_search(fast):
    client, inner = fast
    answer = client.get(NEARBY, params=AROUND, headers={"Authorization": "Bearer rf_nothing"})
    assert answer.status_code == 401
    assert inner.calls == 0  # refused by the gate in front of the app
