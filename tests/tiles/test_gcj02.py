"""The GCJ-02 tile set: the WebMercatorQuad grid with every feature at its GCJ-02
position, so that it lands where an Amap or Tencent base map draws the place."""

import morecantile
import pytest

from app.core.geo import CoordSys, position_from_wgs84
from app.ogc.tiles.router import tile_cache
from tests.tiles.test_router import HERE, MVT, decode

WMQ = morecantile.tms.get("WebMercatorQuad")
GCJ = position_from_wgs84(*HERE, CoordSys.gcj02)
TILES = "/ogc/collections/{}/tiles/WebMercatorQuadGCJ02"


def gcj_tile(collection: str, z: int, lon: float, lat: float) -> str:
    t = WMQ.tile(lon, lat, z)
    return f"{TILES.format(collection)}/{z}/{t.x}/{t.y}"


def test_features_sit_at_their_gcj02_positions(public_client, create, tmp_path):
    facility = create(name="天鹅湖人防工程")
    url = gcj_tile("facilities", 16, *GCJ)
    # GCJ-02 moves Hefei about 560 m: at zoom 16 (600 m tiles) the WGS 84 tile differs
    assert url != gcj_tile("facilities", 16, *HERE)
    response = public_client.get(url)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == MVT
    (point,) = decode(tmp_path, url, response.content)["facilities"]["points"]
    x, y = WMQ.xy(*GCJ)
    assert abs(point.x - x) < 1 and abs(point.y - y) < 1  # 15 cm pixels
    (row,) = decode(tmp_path, url, response.content)["facilities"]["rows"]
    assert row["id"] == facility["id"]
    # and not at its WGS 84 position
    assert public_client.get(gcj_tile("facilities", 16, *HERE)).status_code == 204


def test_clusters_count_by_gcj02_cells(public_client, create, tmp_path):
    create()
    url = gcj_tile("shelters", 12, *GCJ)
    layers = decode(tmp_path, url, public_client.get(url).content)
    (row,) = layers["shelters_clusters"]["rows"]
    assert row["count"] == 1
    (point,) = layers["shelters_clusters"]["points"]
    x, y = WMQ.xy(*GCJ)
    assert abs(point.x - x) < 2.5 and abs(point.y - y) < 2.5  # 2.4 m pixels at zoom 12


def test_documents_and_tilejson(public_client):
    tms = public_client.get("/ogc/tileMatrixSets/WebMercatorQuadGCJ02").json()
    assert tms["id"] == "WebMercatorQuadGCJ02"
    assert tms["crs"] == "urn:rf-registry:crs:gcj02-mercator"  # not EPSG:3857: shifted
    assert "uri" not in tms
    assert tms["tileMatrices"][14]["matrixWidth"] == 2**14
    tilesets = public_client.get("/ogc/collections/parking/tiles").json()["tilesets"]
    gcj = next(t for t in tilesets if t["crs"] == "urn:rf-registry:crs:gcj02-mercator")
    assert "tileMatrixSetURI" not in gcj
    tilejson = public_client.get(f"{TILES.format('parking')}/tilejson.json").json()
    assert tilejson["tiles"][0].endswith("/parking/tiles/WebMercatorQuadGCJ02/{z}/{x}/{y}")
    assert "GCJ-02" in tilejson["description"]
    tileset = public_client.get(TILES.format("parking")).json()
    assert {layer["id"] for layer in tileset["layers"]} == {"parking", "parking_clusters"}


@pytest.mark.parametrize("tile_set", ["WebMercatorQuadBD09", "webmercatorquad"])
def test_other_tile_matrix_sets_are_404(public_client, tile_set):
    for path in (
        f"/ogc/tileMatrixSets/{tile_set}",
        f"/ogc/collections/shelters/tiles/{tile_set}/0/0/0",
    ):
        response = public_client.get(path)
        assert response.status_code == 404
        assert "WebMercatorQuadGCJ02" in response.json()["detail"]


def test_a_write_evicts_the_gcj02_tiles_apart_from_the_wgs84_ones(app, client, create):
    facility = create(name="天鹅湖人防工程")
    urls = [gcj_tile("facilities", z, *GCJ) for z in (10, 14, 16)]
    cache = tile_cache(app)
    for url in urls:
        assert client.get(url).status_code == 200
    hits = cache.hits
    for url in urls:
        client.get(url)
    assert cache.hits == hits + len(urls)  # cached, under their own keys

    response = client.patch(
        f"/v1/facilities/{facility['id']}",
        json={"name": "天鹅湖人防工程二期"},
        headers={"If-Match": "*"},
    )
    assert response.status_code == 200, response.text
    hits = cache.hits
    assert "天鹅湖人防工程二期".encode() in client.get(urls[-1]).content
    assert cache.hits == hits  # rendered again, not served stale
