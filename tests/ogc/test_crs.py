"""OGC items in the systems Chinese users work in: GCJ-02 and BD-09 for map apps (the
registry's own CRS URIs, never labelled as WGS 84), and CGCS2000 3-degree Gauss-Krüger
zones (EPSG:4513-4554) for planning and surveying tools."""

import pytest
from pyproj import Transformer

from app.core.geo import CoordSys, position_from_wgs84
from tests.ogc.test_items import EPSG, ITEMS, LAT, LON


@pytest.mark.parametrize("coordsys", [CoordSys.gcj02, CoordSys.bd09])
def test_items_in_a_shifted_system(public_client, create, coordsys):
    made = create()
    uri = f"urn:rf-registry:crs:{coordsys.value}"
    response = public_client.get(ITEMS, params={"crs": uri})
    assert response.status_code == 200, response.text
    assert response.headers["content-crs"] == f"<{uri}>"
    [feature] = response.json()["features"]
    want = list(position_from_wgs84(LON, LAT, coordsys))
    assert feature["geometry"]["coordinates"] == pytest.approx(want, abs=1e-7)
    single = public_client.get(f"{ITEMS}/{made['id']}", params={"crs": uri})
    assert single.headers["content-crs"] == f"<{uri}>"
    assert single.json()["geometry"]["coordinates"] == pytest.approx(want, abs=1e-7)


@pytest.mark.parametrize("srid", [4548, 4527])  # 117 E, without and with the zone number
def test_items_in_a_gauss_kruger_zone(public_client, create, srid):
    create()
    response = public_client.get(ITEMS, params={"crs": f"{EPSG}{srid}"})
    assert response.status_code == 200, response.text
    assert response.headers["content-crs"] == f"<{EPSG}{srid}>"
    [feature] = response.json()["features"]
    easting, northing = Transformer.from_crs(4326, srid, always_xy=True).transform(LON, LAT)
    # EPSG's axis order for these zones: northing, then easting
    assert feature["geometry"]["coordinates"] == pytest.approx([northing, easting], abs=0.01)
    assert (easting // 1_000_000) == (39 if srid == 4527 else 0)


def test_collections_list_the_systems(public_client):
    collection = public_client.get("/ogc/collections/facilities").json()
    for uri in (
        "urn:rf-registry:crs:gcj02",
        "urn:rf-registry:crs:bd09",
        f"{EPSG}4513",
        f"{EPSG}4548",
        f"{EPSG}4554",
    ):
        assert uri in collection["crs"]
    assert f"{EPSG}4555" not in collection["crs"]


@pytest.mark.parametrize("param", ["bbox-crs", "filter-crs"])
@pytest.mark.parametrize("uri", ["urn:rf-registry:crs:gcj02", f"{EPSG}4548"])
def test_answer_only_systems_are_refused_for_request_positions(public_client, param, uri):
    response = public_client.get(
        ITEMS, params={param: uri, "bbox": "117,31,118,32", "filter": "capacity_persons > 1"}
    )
    assert response.status_code == 400
    assert f"{param}: {uri} is for answers only" in response.json()["detail"]


def test_an_unknown_zone_is_named(public_client):
    response = public_client.get(ITEMS, params={"crs": f"{EPSG}4555"})
    assert response.status_code == 400
    detail = response.json()["detail"]
    assert "4555" in detail and f"{EPSG}4513 to {EPSG}4554" in detail
