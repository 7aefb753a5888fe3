"""The tile endpoints: documents, errors, caching headers, and the tiles themselves as
GDAL's MVT driver decodes them."""

from datetime import date, datetime, time, timedelta

import morecantile
import pyogrio
import pytest
import shapely
from sqlalchemy import text

from app.core import dates
from app.core.geo import CoordSys
from app.divisions.service import BoundaryFeature, load_boundaries
from app.ogc.tiles import repository
from app.ogc.tiles.layers import LAYERS
from app.ogc.tiles.router import tile_cache

MVT = "application/vnd.mapbox-vector-tile"
WMQ = morecantile.tms.get("WebMercatorQuad")
HERE = (117.2281, 31.8262)  # the base payload's location, in Hefei
PARKING = {
    "type": "parking",
    "attributes": {"total_spaces": 120, "charging_piles": 4, "charging_max_kw": 60},
}
PLAQUE = {"kind": "identification_plaque", "status": "installed", "installed_on": "2021-07-01"}


def tile_url(collection: str, z: int, lon: float = HERE[0], lat: float = HERE[1]) -> str:
    t = WMQ.tile(lon, lat, z)
    return f"/ogc/collections/{collection}/tiles/WebMercatorQuad/{z}/{t.x}/{t.y}"


def decode(tmp_path, url: str, body: bytes) -> dict[str, dict]:
    """Features per layer, read by GDAL from a z/x/y.pbf path (which georeferences it)."""
    z, x, y = url.rsplit("/", 3)[1:]
    path = tmp_path / z / x / f"{y}.pbf"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(body)
    layers = {}
    for name, geometry_type in pyogrio.list_layers(path):
        meta, _, geometry, fields = pyogrio.raw.read(path, layer=name)
        rows = [dict(zip(meta["fields"], row, strict=True)) for row in zip(*fields, strict=True)]
        for row in rows:
            row.pop("mvt_id")  # GDAL's field for the MVT feature id, which tiles do not set
        layers[name] = {"type": geometry_type, "rows": rows, "points": shapely.from_wkb(geometry)}
    return layers


def test_tile_matrix_sets(public_client):
    listed = public_client.get("/ogc/tileMatrixSets").json()["tileMatrixSets"]
    assert [s["id"] for s in listed] == ["WebMercatorQuad", "WebMercatorQuadGCJ02"]
    assert listed[0]["links"][0]["href"].endswith("/ogc/tileMatrixSets/WebMercatorQuad")
    wmq = public_client.get("/ogc/tileMatrixSets/WebMercatorQuad").json()
    assert wmq["id"] == "WebMercatorQuad"
    assert wmq["crs"].endswith("/EPSG/0/3857")
    assert wmq["tileMatrices"][14]["matrixWidth"] == 2**14


def test_tilesets_tileset_and_tilejson(public_client):
    base = "/ogc/collections/shelters/tiles"
    listed = public_client.get(base).json()["tilesets"]
    assert len(listed) == 2 and listed[0]["dataType"] == "vector"
    links = {link["rel"]: link for link in listed[0]["links"]}
    assert links["item"]["href"].endswith(
        "/shelters/tiles/WebMercatorQuad/{tileMatrix}/{tileCol}/{tileRow}"
    )
    assert links["item"]["type"] == MVT and links["item"]["templated"] is True
    assert links["describedby"]["href"].endswith("/WebMercatorQuad/tilejson.json")

    tileset = public_client.get(f"{base}/WebMercatorQuad").json()
    assert tileset["tileMatrixSetURI"].endswith("/WebMercatorQuad")
    assert [limit["tileMatrix"] for limit in tileset["tileMatrixSetLimits"]][-1] == "16"
    layers = {layer["id"]: layer for layer in tileset["layers"]}
    assert layers["shelters"]["minTileMatrix"] == "15"
    assert layers["shelters_clusters"]["maxTileMatrix"] == "14"
    assert layers["shelters"]["propertiesSchema"]["properties"]["capacity"] == {"type": "number"}

    tilejson = public_client.get(f"{base}/WebMercatorQuad/tilejson.json").json()
    assert tilejson["tilejson"] == "3.0.0"
    assert tilejson["tiles"][0].endswith("/shelters/tiles/WebMercatorQuad/{z}/{x}/{y}")
    assert (tilejson["minzoom"], tilejson["maxzoom"]) == (0, 16)
    vector = {layer["id"]: layer for layer in tilejson["vector_layers"]}
    assert vector["shelters"]["fields"] == LAYERS["shelters"].fields
    assert (vector["shelters"]["minzoom"], vector["shelters"]["maxzoom"]) == (15, 16)
    assert vector["shelters_clusters"]["fields"] == {"count": "Number", "capacity": "Number"}
    assert (vector["shelters_clusters"]["minzoom"], vector["shelters_clusters"]["maxzoom"]) == (
        0,
        14,
    )


@pytest.mark.parametrize(
    ("path", "status", "names"),
    [
        ("/ogc/collections/roads/tiles", 404, "roads"),
        ("/ogc/collections/roads/tiles/WebMercatorQuad/0/0/0", 404, "roads"),
        ("/ogc/collections/shelters/tiles/WebMercatorQuad/17/0/0", 404, "zoom 17"),
        ("/ogc/collections/shelters/tiles/WebMercatorQuad/1/2/0", 404, "tile 2/0"),
        ("/ogc/collections/shelters/tiles/WebMercatorQuad/3/0/-1", 404, "tile 0/-1"),
        ("/ogc/collections/shelters/tiles/WebMercatorQuad/-1/0/0", 404, "zoom -1"),
        ("/ogc/collections/shelters/tiles/WebMercatorQuad/3/a/0", 400, "x"),
    ],
)
def test_bad_collection_or_tile_is_a_problem(public_client, path, status, names):
    response = public_client.get(path)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    assert names in response.json()["detail"]


def test_a_tile_decoded_by_gdal(public_client, create, tmp_path):
    facility = create(name="天鹅湖人防工程", capacity_persons=800, shelter_area=800)
    url = tile_url("facilities", 16)
    response = public_client.get(url)
    assert response.status_code == 200
    assert response.headers["content-type"] == MVT
    layers = decode(tmp_path, url, response.content)
    assert list(layers) == ["facilities"]
    assert layers["facilities"]["type"] == "Point"
    (row,) = layers["facilities"]["rows"]
    assert row["id"] == facility["id"]
    assert row["name"] == "天鹅湖人防工程"
    assert row["capacity"] == 800
    assert row["wartime_function"] == "personnel_shelter"
    (point,) = layers["facilities"]["points"]
    x, y = WMQ.xy(*HERE)
    assert abs(point.x - x) < 1 and abs(point.y - y) < 1  # metres: 15 cm pixels at z16
    # public and cached: nothing restricted
    assert set(row) <= set(LAYERS["facilities"].fields)


@pytest.mark.parametrize("collection", sorted(k for k, v in LAYERS.items() if v.clustered))
def test_each_collection_shows_the_facility_with_public_fields_only(
    client, public_client, create, collection, tmp_path
):
    facility = create()
    use = client.post(f"/v1/facilities/{facility['id']}/uses", json=PARKING)
    assert use.status_code == 201, use.text
    sign = client.post(f"/v1/facilities/{facility['id']}/signs", json=PLAQUE)
    assert sign.status_code == 201, sign.text
    url = tile_url(collection, 15)
    layers = decode(tmp_path, url, public_client.get(url).content)
    rows = layers[collection]["rows"]
    assert rows and set(rows[0]) <= set(LAYERS[collection].fields)
    restricted = {"keyholder_name", "keyholder_phone", "nuclear_level", "owner_unit"}
    assert not restricted & set(rows[0])


def test_low_zooms_cluster_with_counts_and_sums(public_client, create, tmp_path):
    # in one z10 cell of 611 m, away from its edges
    create(location={"type": "Point", "coordinates": [117.2289, 31.8240]})
    create(location={"type": "Point", "coordinates": [117.2291, 31.8242]})
    create(location={"type": "Point", "coordinates": [117.2400, 31.8242]}, capacity_persons=10)
    url = tile_url("shelters", 10)
    layers = decode(tmp_path, url, public_client.get(url).content)
    assert sorted(layers["shelters_clusters"]["rows"], key=lambda row: row["count"]) == [
        {"count": 1, "capacity": 10},
        {"count": 2, "capacity": 16000},
    ]


def test_an_empty_tile_is_204_with_an_etag(public_client):
    response = public_client.get(tile_url("facilities", 16, lon=150.0, lat=-40.0))
    assert response.status_code == 204
    assert not response.content
    assert response.headers["etag"].startswith('"')


def test_etag_cache_control_and_304(public_client, create):
    create()
    url = tile_url("shelters", 16)
    first = public_client.get(url)
    etag = first.headers["etag"]
    assert etag.startswith('"') and not etag.startswith("W/")
    assert first.headers["cache-control"] == "public, max-age=0, must-revalidate"
    again = public_client.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert not again.content and again.headers["etag"] == etag
    listed = public_client.get(url, headers={"If-None-Match": f'"other", W/{etag}'})
    assert listed.status_code == 304
    other = public_client.get(url, headers={"If-None-Match": '"other"'})
    assert other.status_code == 200 and other.content == first.content


def test_division_outlines_are_a_tileset_of_their_own_and_follow_a_boundary_load(
    public_client, session, tmp_path
):
    base = "/ogc/collections/divisions/tiles/WebMercatorQuad"
    tilejson = public_client.get(f"{base}/tilejson.json").json()
    assert [(v["id"], v["minzoom"], v["maxzoom"]) for v in tilejson["vector_layers"]] == [
        ("divisions", 0, 16)
    ]
    tileset = public_client.get(base).json()
    assert [layer["geometryDimension"] for layer in tileset["layers"]] == [2]
    links = public_client.get("/ogc/collections/divisions/tiles").json()["links"]
    assert [link["rel"] for link in links] == ["self"]  # no OGC collection behind it

    def shushan(west: float) -> BoundaryFeature:
        box = shapely.box(west, 31.80, 117.26, 31.86)
        return BoundaryFeature(code="340104", name="蜀山区", geometry=box)

    load_boundaries(session, [shushan(117.20)], on=date.today())
    session.commit()
    url = tile_url("divisions", 10)
    first = public_client.get(url)
    assert first.status_code == 200
    layers = decode(tmp_path, url, first.content)
    (row,) = layers["divisions"]["rows"]
    assert row == {"code": "340104", "name": "蜀山区", "level": "district"}
    assert layers["divisions"]["type"] == "Polygon"
    # a new boundary evicts the cached tile at once
    load_boundaries(session, [shushan(117.22)], on=date.today())
    session.commit()
    second = public_client.get(url)
    assert second.status_code == 200 and second.content != first.content


def test_a_division_tile_is_kept_no_longer_than_chinas_day(app, public_client, session):
    """Which divisions are in force changes at China's midnight, which no write marks: a
    cached outline tile kept yesterday's divisions until a write happened to touch it."""
    box = shapely.box(117.20, 31.80, 117.26, 31.86)
    load_boundaries(
        session, [BoundaryFeature(code="340104", name="蜀山区", geometry=box)], on=dates.today()
    )
    session.commit()
    url = tile_url("divisions", 10)
    assert public_client.get(url).status_code == 200
    t = WMQ.tile(*HERE, 10)
    tile = tile_cache(app).get(("divisions", 10, t.x, t.y))
    midnight = datetime.combine(dates.today() + timedelta(days=1), time(), dates.SHANGHAI)
    assert tile.until == midnight.timestamp()


def test_a_gcj02_outline_tile_shifts_the_outline_cut_and_thinned_to_its_grid(session, tmp_path):
    """GCJ-02 shifts vertex by vertex in PL/pgSQL: an anonymous divisions tile at a low
    zoom shifted every vertex of every outline in it, a second of the database's time a
    tile for one province's districts. The outline is cut to the tile and thinned first."""
    outline = shapely.Point(*HERE).buffer(0.5, quad_segs=5000)  # 20,000 vertices
    load_boundaries(
        session, [BoundaryFeature(code="340104", name="蜀山区", geometry=outline)], on=dates.today()
    )
    session.execute(text("SET LOCAL track_functions = 'pl'"))
    calls = text(
        "SELECT coalesce(pg_stat_get_xact_function_calls("
        "'geometry_in_coordsys(geometry, text)'::regprocedure), 0)"
    )
    before = session.execute(calls).scalar_one()
    t = WMQ.tile(*HERE, 5)
    body, _ = repository.render(
        session, LAYERS["divisions"], 5, t.x, t.y, CoordSys.gcj02, shelter_stale_after_s=60
    )
    assert session.execute(calls).scalar_one() - before < 2_000
    url = f"/ogc/collections/divisions/tiles/WebMercatorQuadGCJ02/5/{t.x}/{t.y}"
    (row,) = decode(tmp_path, url, body)["divisions"]["rows"]
    assert row["code"] == "340104"
