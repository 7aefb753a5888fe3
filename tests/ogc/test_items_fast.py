"""A plain page on the fast path (service.fast: SQL text on the pool's connection) is the
page the general path (a Session) gives: the same features, links and headers, page
after page, both ways, in every CRS and projection, for each kind of caller; a caller
whose scope is its own (a manager) never takes the shared statement."""

import base64
import json

import pytest
from fastapi.testclient import TestClient

from app.ogc import service
from tests.nearby.test_fast_path_same import ODD_NAME
from tests.ogc.test_items import EPSG, LAT, LON, link, point
from tests.uses.test_router import PARKING, uses_url

COLLECTIONS = ["facilities", "shelters", "parking", "entrances", "signage"]
MOMENT = {"date", "content-length"}


@pytest.fixture
def placed(create):
    return [
        create(location=point(LON + i * 0.001, LAT), admin_code="340104")["id"] for i in range(7)
    ]


@pytest.fixture
def taken(monkeypatch):
    """Whether each page took the fast path; `general` turns the fast path off."""
    seen: list[bool] = []
    real = service.fast
    switch = {"on": True}

    def watched(*args):
        took = real(*args) and switch["on"]
        seen.append(took)
        return took

    monkeypatch.setattr(service, "fast", watched)
    return seen, switch


def walk(client: TestClient, url: str, rel: str) -> list:
    pages = []
    while url is not None and len(pages) < 20:
        response = client.get(url)
        assert response.status_code == 200, response.text
        headers = {k: v for k, v in response.headers.items() if k not in MOMENT}
        pages.append((headers, response.json()))
        url = link(response.json(), rel)
    return pages


@pytest.mark.parametrize("collection", COLLECTIONS)
@pytest.mark.parametrize(
    "query",
    [
        "limit=2",
        "limit=3&crs=" + EPSG + "3857",
        "limit=3&crs=" + EPSG + "4490",
        "limit=2&properties=name",
        "limit=2&properties=",
        f"limit=2&bbox={LON - 1e-4},{LAT - 1e-4},{LON + 0.0045},{LAT + 1e-4}",
        "limit=500",
        "limit=501",
    ],
)
@pytest.mark.parametrize("role", [None, "gis", "manager"])
def test_pages_on_the_fast_path_are_the_general_paths(
    app, placed, make_key, taken, collection, query, role
):
    seen, switch = taken
    headers = {}
    if role is not None:
        scope = {"admin_codes": ["340104"]} if role == "manager" else {}
        headers["Authorization"] = f"Bearer {make_key(role, **scope)}"
    client = TestClient(app, headers=headers)
    url = f"/ogc/collections/{collection}/items?{query}"
    fast = walk(client, url, "next")
    took = list(seen)
    switch["on"] = False
    general = walk(client, url, "next")
    assert fast == general
    assert not any(seen[len(took) :])
    # a page of 501 or a manager's scope never takes the shared statement
    assert any(took) == (role != "manager" and "limit=501" not in query)
    # and back from the last page
    switch["on"] = True
    last = fast[-1][1]
    back = link(last, "prev")
    if back is not None:
        fast_back = walk(client, back, "prev")
        switch["on"] = False
        assert fast_back == walk(client, back, "prev")


def cursor(direction: str, values: list) -> str:
    raw = json.dumps([direction, values]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.mark.parametrize("value", [2**63, -(2**63) - 1, 10**30, True, 1.5, "7"])
@pytest.mark.parametrize("on", [True, False])
def test_a_cursor_no_page_gave_is_400_on_either_path(app, placed, taken, value, on):
    # An integer beyond bigint reached the fast path's statement: a 500 there, a 422 naming
    # the database's words on the general path.
    _, switch = taken
    switch["on"] = on
    for direction in ("a", "b"):
        url = f"/ogc/collections/facilities/items?cursor={cursor(direction, [value])}"
        answer = TestClient(app).get(url)
        assert answer.status_code == 400, answer.text
        assert answer.json()["detail"].startswith("cursor")
    edge = f"/ogc/collections/facilities/items?cursor={cursor('a', [2**63 - 1])}"
    assert TestClient(app).get(edge).json()["features"] == []


@pytest.mark.parametrize("collection", ["facilities", "parking"])
def test_names_of_every_character_are_the_same_utf8_json_on_both_paths(
    app, client, create, taken, collection
):
    work = create(location=point(LON, LAT), name=ODD_NAME)
    use = {**PARKING, "name": ODD_NAME}
    assert client.post(uses_url(work["id"]), json=use).status_code == 201
    seen, switch = taken
    url = f"/ogc/collections/{collection}/items?limit=5&properties=name"
    fast = TestClient(app).get(url)
    switch["on"] = False
    general = TestClient(app).get(url)
    assert seen == [True, False]
    assert json.loads(fast.content.decode("utf-8")) == general.json()
    assert ODD_NAME in [feature["properties"]["name"] for feature in general.json()["features"]]
