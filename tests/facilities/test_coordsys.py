"""Facilities read and written in the caller's coordinate system: a city app on an Amap
(GCJ-02) or Baidu (BD-09) base map sends and gets its own positions on every path."""

import time
from datetime import UTC, datetime

import pytest
from pyproj import Geod

from app.core.geo import CoordSys, position_from_wgs84

GEOD = Geod(ellps="WGS84")
# Hefei, Shushan district: the base payload's facility and one of its entrances.
WGS = (117.2281, 31.8262)
ENTRANCE = (117.2277, 31.8259)
FOOTPRINT = {
    "type": "Polygon",
    "coordinates": [
        [[117.2276, 31.8258], [117.2286, 31.8258], [117.2286, 31.8266], [117.2276, 31.8258]]
    ],
}


def shifted(position, coordsys):
    return pytest.approx(list(position_from_wgs84(*position, coordsys)), abs=1e-7)


def metres(a, b) -> float:
    return GEOD.inv(*a, *b)[2]


@pytest.mark.parametrize("coordsys", ["gcj02", "bd09", "bd09ll"])
def test_detail_in_the_callers_system(client, create, coordsys):
    facility = create(footprint=FOOTPRINT)
    system = CoordSys(coordsys)
    response = client.get(f"/v1/facilities/{facility['id']}", params={"coordsys": coordsys})
    assert response.status_code == 200, response.text
    assert response.headers["content-crs"] == f"<urn:rf-registry:crs:{system.value}>"
    body = response.json()
    assert body["location"]["coordinates"] == shifted(WGS, system)
    # hundreds of metres off WGS 84: what an Amap or Baidu pin would be
    assert 300 < metres(WGS, body["location"]["coordinates"]) < 1500
    assert body["entrances"][1]["location"]["coordinates"] == shifted(ENTRANCE, system)
    ring = body["footprint"]["coordinates"][0][0]
    assert body["footprint"]["type"] == "MultiPolygon"
    assert ring == [shifted(p, system) for p in FOOTPRINT["coordinates"][0]]
    # everything else as in WGS 84
    plain = client.get(f"/v1/facilities/{facility['id']}").json()
    for key in ("location", "entrances", "footprint"):
        body.pop(key), plain.pop(key)
    assert body == plain


def test_wgs84_and_cgcs2000_are_the_stored_positions(client, create):
    facility = create()
    for coordsys, crs in (
        ("wgs84", "http://www.opengis.net/def/crs/OGC/1.3/CRS84"),
        ("cgcs2000", "http://www.opengis.net/def/crs/EPSG/0/4490"),
    ):
        response = client.get(f"/v1/facilities/{facility['id']}", params={"coordsys": coordsys})
        assert response.headers["content-crs"] == f"<{crs}>"
        assert response.json()["location"]["coordinates"] == list(WGS)
    assert client.get(f"/v1/facilities/{facility['id']}").headers["content-crs"].endswith("CRS84>")


def test_an_unknown_system_is_refused_by_name(client, create):
    facility = create()
    response = client.get(f"/v1/facilities/{facility['id']}", params={"coordsys": "bd09mc"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "query.coordsys"


def test_lists_as_json_and_geojson(client, create):
    facility = create()
    for f, take in (
        ("json", lambda body: body["items"][0]["location"]),
        ("geojson", lambda body: body["features"][0]["geometry"]),
    ):
        response = client.get(
            "/v1/facilities", params={"q": facility["name"], "f": f, "coordsys": "gcj02"}
        )
        assert response.status_code == 200, response.text
        assert response.headers["content-crs"] == "<urn:rf-registry:crs:gcj02>"
        assert take(response.json())["coordinates"] == shifted(WGS, CoordSys.gcj02)


def test_geojson_feature(client, create):
    facility = create()
    feature = client.get(
        f"/v1/facilities/{facility['id']}", params={"f": "geojson", "coordsys": "bd09"}
    ).json()
    assert feature["geometry"]["coordinates"] == shifted(WGS, CoordSys.bd09)
    assert feature["properties"]["entrances"][0]["location"]["coordinates"] == shifted(
        (117.2285, 31.8264), CoordSys.bd09
    )


def test_create_and_patch_read_positions_in_the_callers_system(client, payload):
    gcj = position_from_wgs84(*WGS, CoordSys.gcj02)
    body = payload()
    body["location"]["coordinates"] = list(gcj)
    body["entrances"] = [
        {
            "kind": "vehicle",
            "location": {
                "type": "Point",
                "coordinates": list(position_from_wgs84(*ENTRANCE, CoordSys.gcj02)),
            },
        },
        body["entrances"][1] | {"location": None},
    ][:1]
    response = client.post("/v1/facilities", params={"coordsys": "gcj02"}, json=body)
    assert response.status_code == 201, response.text
    created = response.json()
    # answered in the system it was sent in ...
    assert created["location"]["coordinates"] == pytest.approx(list(gcj), abs=1e-6)
    # ... and stored in WGS 84, within centimetres of the true position
    stored = client.get(f"/v1/facilities/{created['id']}").json()
    assert metres(WGS, stored["location"]["coordinates"]) < 0.05
    assert metres(ENTRANCE, stored["entrances"][0]["location"]["coordinates"]) < 0.05

    moved = (117.2301, 31.8270)
    response = client.patch(
        f"/v1/facilities/{created['id']}",
        params={"coordsys": "bd09ll"},
        headers={"If-Match": "*"},
        json={
            "location": {
                "type": "Point",
                "coordinates": list(position_from_wgs84(*moved, CoordSys.bd09)),
            },
            "footprint": {
                "type": "Polygon",
                "coordinates": [
                    [list(position_from_wgs84(*p, CoordSys.bd09)) for p in ring]
                    for ring in FOOTPRINT["coordinates"]
                ],
            },
        },
    )
    assert response.status_code == 200, response.text
    stored = client.get(f"/v1/facilities/{created['id']}").json()
    assert metres(moved, stored["location"]["coordinates"]) < 0.05
    for got, want in zip(
        stored["footprint"]["coordinates"][0][0], FOOTPRINT["coordinates"][0], strict=True
    ):
        assert metres(want, got) < 0.05


def test_as_of_and_history_in_the_callers_system(client, create):
    facility = create()
    url = f"/v1/facilities/{facility['id']}"
    # audit times are the clock's: a stamp between the two writes reads the first state
    time.sleep(0.002)
    before = datetime.now(UTC).isoformat()
    time.sleep(0.002)
    moved = [117.2301, 31.8270]
    response = client.patch(
        url, headers={"If-Match": "*"}, json={"location": {"type": "Point", "coordinates": moved}}
    )
    assert response.status_code == 200, response.text
    past = client.get(url, params={"as_of": before, "coordsys": "gcj02"})
    assert past.status_code == 200, past.text
    assert past.json()["location"]["coordinates"] == shifted(WGS, CoordSys.gcj02)
    assert past.json()["entrances"][1]["location"]["coordinates"] == shifted(
        ENTRANCE, CoordSys.gcj02
    )
    history = client.get(f"{url}/history", params={"coordsys": "gcj02"}).json()["items"]
    change = next(e for e in history if e["action"] == "update")["changes"]["location"]
    assert change["old"]["coordinates"] == shifted(WGS, CoordSys.gcj02)
    assert change["new"]["coordinates"] == shifted(moved, CoordSys.gcj02)


def test_signs_in_the_callers_system(client, create):
    facility = create()
    at = (117.2283, 31.8263)
    response = client.post(
        f"/v1/facilities/{facility['id']}/signs",
        params={"coordsys": "gcj02"},
        json={
            "kind": "vehicle_entrance",
            "status": "installed",
            "installed_on": "2022-03-01",
            "location": {
                "type": "Point",
                "coordinates": list(position_from_wgs84(*at, CoordSys.gcj02)),
            },
        },
    )
    assert response.status_code == 201, response.text
    sign = response.json()
    assert response.headers["content-crs"] == "<urn:rf-registry:crs:gcj02>"
    url = f"/v1/facilities/{facility['id']}/signs/{sign['id']}"
    stored = client.get(url).json()["location"]["coordinates"]
    assert metres(at, stored) < 0.05
    assert client.get(url, params={"coordsys": "bd09"}).json()["location"][
        "coordinates"
    ] == pytest.approx(list(position_from_wgs84(*stored, CoordSys.bd09)), abs=1e-7)
    signage = client.get(f"/v1/facilities/{facility['id']}/signage", params={"coordsys": "gcj02"})
    assert signage.headers["content-crs"] == "<urn:rf-registry:crs:gcj02>"
    assert signage.json()["signs"][0]["location"]["coordinates"] == pytest.approx(
        list(position_from_wgs84(*stored, CoordSys.gcj02)), abs=1e-7
    )
