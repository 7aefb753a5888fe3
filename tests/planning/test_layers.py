"""Population layers: upload, refusal of bad files, coverage on a hand-computed case."""

import json
from datetime import date

import pytest
from shapely.geometry import box

from app.core.geo import CoordSys, position_from_wgs84
from app.divisions.service import BoundaryFeature, load_boundaries

BASE_LON, BASE_LAT = 117.2281, 31.8262  # Shushan district (340104), as the base payload
SHELTER = {"type": "Point", "coordinates": [BASE_LON, BASE_LAT]}


def north(degrees: float) -> dict:
    """A point `degrees` of latitude north of the base: 0.001° is about 111 m here."""
    return {"type": "Point", "coordinates": [BASE_LON, round(BASE_LAT + degrees, 7)]}


def upload(client, body: str, *, name: str = "residents", content_type: str = "text/csv"):
    response = client.post(
        "/v1/planning/population-layers",
        params={"name": name},
        content=body.encode(),
        headers={"Content-Type": content_type},
    )
    assert response.status_code == 201, response.text
    return response.json()


def _shelter(create, degrees: float, capacity: int, area: int) -> dict:
    place = north(degrees)
    lon, lat = place["coordinates"]
    return create(
        location=place,
        capacity_persons=capacity,
        shelter_area=area,
        entrances=[
            {"kind": "pedestrian", "location": {"type": "Point", "coordinates": [lon, lat + 1e-4]}},
            {"kind": "wartime", "location": {"type": "Point", "coordinates": [lon, lat - 1e-4]}},
        ],
    )


@pytest.fixture
def hand_case(client, create):
    """Two shelters in Shushan: 500 persons / 400 m² at the base, 300 / 300 about 444 m
    north. Residents: 300 at 111 m from the first, 200 at 111 m from the second, 500
    about 2.2 km away; 100 in Luyang, which has no shelter."""
    _shelter(create, 0, 500, 400)
    _shelter(create, 0.0040, 300, 300)
    create(  # not a personnel shelter: never counts
        location=north(0.0011), wartime_function="supporting", wartime_subtype="supply_depot"
    )
    rows = [(0.0010, 300, "340104"), (0.0030, 200, "340104"), (0.0200, 500, "340104")]
    body = "lon,lat,residents,admin_code\n" + "".join(
        f"{BASE_LON},{BASE_LAT + d:.7f},{n},{code}\n" for d, n, code in rows
    )
    return upload(client, body + "117.26,31.88,100,340103\n")


def test_coverage_of_the_hand_computed_case(client, hand_case):
    url = f"/v1/planning/population-layers/{hand_case['id']}/coverage"
    assert hand_case["residents"] == 1100 and hand_case["features"] == 4
    body = client.get(url).json()
    assert body["radius_m"] == 200 and body["by"] == "district"
    luyang, shushan = body["areas"]
    assert shushan["admin_code"] == "340104" and luyang["admin_code"] == "340103"
    assert (shushan["residents"], shushan["shelters"], shushan["shelter_capacity"]) == (
        1000,
        2,
        800,
    )
    assert float(shushan["capacity_per_resident"]) == 0.8
    assert float(shushan["shelter_area_per_resident_m2"]) == 0.7
    assert shushan["meets_area_norm"] is False
    assert shushan["covered_residents"] == 500 and float(shushan["covered_share"]) == 0.5
    assert (luyang["shelters"], luyang["covered_residents"]) == (0, 0)
    assert body["total"]["residents"] == 1100 and body["total"]["covered_residents"] == 500

    wide = client.get(url, params={"radius_m": 2500}).json()
    assert float(wide["areas"][1]["covered_share"]) == 1.0
    city = client.get(url, params={"by": "city"}).json()
    assert [a["admin_code"] for a in city["areas"]] == ["340100"]
    assert city["areas"][0]["shelter_capacity"] == 800
    only = client.get(url, params={"admin_code": "340103"}).json()
    assert [a["admin_code"] for a in only["areas"]] == ["340103"]


def test_uncovered_points_and_hexagons(client, hand_case):
    url = f"/v1/planning/population-layers/{hand_case['id']}/uncovered"
    response = client.get(url)
    assert response.headers["content-type"] == "application/geo+json"
    features = response.json()["features"]
    assert sorted(f["properties"]["uncovered_residents"] for f in features) == [100, 500]
    assert {f["geometry"]["type"] for f in features} == {"Point"}
    hexagons = client.get(url, params={"h3_resolution": 9}).json()["features"]
    assert sum(h["properties"]["uncovered_residents"] for h in hexagons) == 600
    ring = hexagons[0]["geometry"]["coordinates"][0]
    assert hexagons[0]["geometry"]["type"] == "Polygon" and ring[0] == ring[-1]


def test_uncovered_parts_in_the_callers_coordsys(client, hand_case):
    """For a planner's Amap base map: the gaps in GCJ-02, labelled so, each position the
    WGS 84 one shifted as the registry shifts every other answer."""
    url = f"/v1/planning/population-layers/{hand_case['id']}/uncovered"
    wgs84 = client.get(url).json()["features"]
    response = client.get(url, params={"coordsys": "gcj02"})
    assert response.status_code == 200, response.text
    assert response.headers["content-crs"] == "<urn:rf-registry:crs:gcj02>"
    gcj02 = response.json()["features"]
    for plain, shifted in zip(wgs84, gcj02, strict=True):
        lon, lat = plain["geometry"]["coordinates"]
        expected = position_from_wgs84(lon, lat, CoordSys.gcj02)
        assert shifted["geometry"]["coordinates"] == pytest.approx(list(expected), abs=1e-7)
        assert shifted["properties"] == plain["properties"]
    hexagons = client.get(url, params={"h3_resolution": 9, "coordsys": "bd09ll"}).json()
    ring = hexagons["features"][0]["geometry"]["coordinates"][0]
    assert ring[0] == ring[-1]


def test_a_layer_in_gcj02_is_kept_in_wgs84(client):
    """Points taken off an Amap base map, as CSV and as GeoJSON: stored at their WGS 84
    places, so that coverage measures real distances; the gaps read back in GCJ-02 are
    where they were given."""
    lon, lat = position_from_wgs84(BASE_LON, BASE_LAT, CoordSys.gcj02)
    csv_layer = client.post(
        "/v1/planning/population-layers",
        params={"name": "高德点位", "coordsys": "gcj02"},
        content=f"经度,纬度,常住人口\n{lon},{lat},300\n".encode(),
        headers={"Content-Type": "text/csv"},
    )
    assert csv_layer.status_code == 201, csv_layer.text
    square = [[lon, lat], [lon + 0.001, lat], [lon + 0.001, lat + 0.001], [lon, lat]]
    geojson = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": {"type": "Polygon", "coordinates": [square]},
                "properties": {"residents": 50},
            }
        ],
    }
    geo_layer = client.post(
        "/v1/planning/population-layers",
        params={"name": "高德街区", "coordsys": "gcj02"},
        content=json.dumps(geojson).encode(),
        headers={"Content-Type": "application/geo+json"},
    )
    assert geo_layer.status_code == 201, geo_layer.text
    url = "/v1/planning/population-layers/{}/uncovered"
    (point,) = client.get(url.format(csv_layer.json()["id"])).json()["features"]
    assert point["geometry"]["coordinates"] == pytest.approx([BASE_LON, BASE_LAT], abs=1e-6)
    (area,) = client.get(url.format(geo_layer.json()["id"]), params={"coordsys": "gcj02"}).json()[
        "features"
    ]
    ring = area["geometry"]["coordinates"][0]
    assert min(x for x, _ in ring) == pytest.approx(lon, abs=1e-6)
    assert min(y for _, y in ring) == pytest.approx(lat, abs=1e-6)


def test_areas_count_the_share_inside_the_circles(client, create):
    _shelter(create, 0, 500, 500)
    d = 0.0004  # a cell of about 90 m by 75 m around the shelter: wholly within 200 m

    def cell(lat: float) -> list:
        lon0, lon1 = BASE_LON - d, BASE_LON + d
        return [
            [[lon0, lat - d], [lon1, lat - d], [lon1, lat + d], [lon0, lat + d], [lon0, lat - d]]
        ]

    collection = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": {"type": "Polygon", "coordinates": cell(BASE_LAT)},
                "properties": {"population": 120, "admin_code": "340104"},
            },
            {
                "type": "Feature",
                "geometry": {"type": "Polygon", "coordinates": cell(BASE_LAT + 0.01)},
                "properties": {"population": 80, "admin_code": "340104"},
            },
            {
                "type": "Feature",
                "geometry": None,
                "properties": {"population": 1000, "admin_code": "340103"},
            },
        ],
    }
    layer = upload(client, json.dumps(collection), content_type="application/geo+json")
    body = client.get(f"/v1/planning/population-layers/{layer['id']}/coverage").json()
    luyang, shushan = body["areas"]
    assert (shushan["covered_residents"], float(shushan["covered_share"])) == (120, 0.6)
    # A district row is located only by a loaded boundary; none is loaded here.
    assert luyang["located_residents"] is None and luyang["covered_share"] is None
    gaps = client.get(f"/v1/planning/population-layers/{layer['id']}/uncovered").json()
    assert [f["properties"]["uncovered_residents"] for f in gaps["features"]] == [80]
    assert gaps["features"][0]["geometry"]["type"] == "Polygon"


CSV = "text/csv"
GEOJSON = "application/geo+json"


@pytest.mark.parametrize(
    ("body", "content_type", "status", "field"),
    [
        ("x,y,residents\n117.2,31.8,3\n", CSV, 422, "header"),
        ("lon,lat\n117.2,31.8\n", CSV, 422, "header"),
        ("lon,lat,residents\n117.2,31.8,many\n", CSV, 422, "row 1.residents"),
        ("lon,lat,residents\n117.2,31.8,5\n117.2,31.8,-5\n", CSV, 422, "row 2.residents"),
        ("lon,lat,residents\n117.2,31.8,2.5\n", CSV, 422, "row 1.residents"),
        ("lon,lat,residents\n2.35,48.85,10\n", CSV, 422, "row 1.lon"),
        ("lon,lat,residents\neast,31.8,10\n", CSV, 422, "row 1.lon"),
        ("admin_code,residents\n349999,10\n", CSV, 422, "row 1.admin_code"),
        ("admin_code,residents\n3401,10\n", CSV, 422, "row 1.admin_code"),
        ("lon,lat,admin_code,residents\n,,,10\n", CSV, 422, "row 1"),
        ("", CSV, 422, "body"),
        ("\r0", CSV, 422, "body"),
        ("lon,lat,residents\r117.2,31.8,many\r", CSV, 422, "row 1.residents"),
        pytest.param(
            'lon,lat,residents\n"' + "9" * 200_000 + '",31.8,5\n',
            CSV,
            422,
            "body",
            id="field over the csv module's limit",
        ),
        ("lon,lat,residents\n", CSV, 422, "body"),
        ('{"type": "FeatureCollection", "features": [', GEOJSON, 400, None),
        ('{"type": "Feature"}', GEOJSON, 422, "body"),
        ('{"type": "FeatureCollection", "features": []}', GEOJSON, 422, "body"),
        (
            '{"type": "FeatureCollection", "features": [{"type": "Feature", '
            '"geometry": {"type": "Point", "coordinates": [117.2, 31.8]}, "properties": {}}]}',
            GEOJSON,
            422,
            "features[1].properties",
        ),
        (
            '{"type": "FeatureCollection", "features": [{"type": "Feature", '
            '"geometry": {"type": "Polygon", "coordinates": [[[117.2, 31.8], [117.3, 31.8], '
            '[117.3, 31.9], [117.2, 31.9]]]}, "properties": {"count": 5}}]}',
            GEOJSON,
            422,
            "features[1].geometry",
        ),
        (
            '{"type": "FeatureCollection", "features": [{"type": "Feature", '
            '"geometry": {"type": "LineString", "coordinates": [[117.2, 31.8], [117.3, 31.8]]},'
            ' "properties": {"count": 5}}]}',
            GEOJSON,
            422,
            "features[1].geometry",
        ),
        (
            '{"type": "FeatureCollection", "features": [{"type": "Feature", '
            '"geometry": {"type": "Point", "coordinates": [117.2, 31.8]},'
            ' "properties": {"residents": true}}]}',
            GEOJSON,
            422,
            "features[1].properties.residents",
        ),
        ("lon,lat,residents\n117.2,31.8,5\n", "application/octet-stream", 422, "format"),
    ],
)
def test_bad_files_are_refused_naming_row_and_field(client, body, content_type, status, field):
    response = client.post(
        "/v1/planning/population-layers",
        params={"name": "bad"},
        content=body.encode(),
        headers={"Content-Type": content_type},
    )
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    if field is not None:
        assert field in [e["field"] for e in response.json()["errors"]]
    assert client.get("/v1/planning/population-layers").json() == []


def test_gbk_files_with_chinese_headers_are_read_as_the_facility_importer_reads_them(client):
    response = client.post(
        "/v1/planning/population-layers",
        params={"name": "蜀山区人口"},
        content="行政区划代码,常住人口\n340104,5\n".encode("gbk"),
        headers={"Content-Type": CSV},
    )
    assert response.status_code == 201, response.text
    assert response.json()["residents"] == 5
    geojson = json.dumps(
        {
            "type": "FeatureCollection",
            "features": [
                {
                    "type": "Feature",
                    "properties": {"residents": 7, "name": "天鹅湖小区"},
                    "geometry": north(0.001),
                }
            ],
        },
        ensure_ascii=False,
    )
    response = client.post(
        "/v1/planning/population-layers",
        params={"name": "小区"},
        content=geojson.encode("gbk"),
        headers={"Content-Type": "application/geo+json"},
    )
    assert response.status_code == 201, response.text
    assert response.json()["residents"] == 7


def test_bytes_in_neither_utf8_nor_gbk_are_refused(client):
    response = client.post(
        "/v1/planning/population-layers",
        params={"name": "bad"},
        content=b"admin_code,count\n340104,5\xff\x80\n",
        headers={"Content-Type": CSV},
    )
    assert response.status_code == 400
    assert "neither UTF-8 nor GBK/GB18030" in response.json()["detail"]


def test_writes_need_admin_or_manager(client, public_client, client_for):
    body = "lon,lat,count\n117.2281,31.8272,10\n"
    headers = {"Content-Type": CSV}
    url = "/v1/planning/population-layers"
    assert (
        public_client.post(url, params={"name": "a"}, content=body, headers=headers).status_code
        == 401
    )
    gis = client_for("gis")
    assert gis.post(url, params={"name": "a"}, content=body, headers=headers).status_code == 403
    manager = client_for("manager", admin_codes=["340104"])
    created = manager.post(url, params={"name": "a"}, content=body, headers=headers)
    assert created.status_code == 201, created.text
    assert created.headers["location"] == f"{url}/{created.json()['id']}"
    again = manager.post(url, params={"name": "a"}, content=body, headers=headers)
    assert again.status_code == 409
    assert gis.get(f"{url}/{created.json()['id']}").json()["residents"] == 10
    assert public_client.get(url).status_code == 401
    other = client_for("manager", admin_codes=["340103"])
    assert other.delete(f"{url}/{created.json()['id']}").status_code == 403
    blank = client.post(url, params={"name": "  "}, content=body, headers=headers)
    assert blank.status_code == 422 and blank.json()["errors"][0]["field"] == "name"
    assert client.delete(f"{url}/{created.json()['id']}").status_code == 204
    assert client.get(f"{url}/{created.json()['id']}").status_code == 404


def test_a_restricted_shelter_counts_only_for_those_who_may_see_it(client, client_for, hand_case):
    """An admin may restrict a personnel shelter: a manager elsewhere then plans without it,
    and neither its capacity, nor its gaps, nor its name tell of it."""
    layer = f"/v1/planning/population-layers/{hand_case['id']}"
    first = client.get(f"{layer}/assignment").json()
    [hidden] = [s["facility_id"] for s in first["shelters"] if s["capacity"] == 300]
    change = {"visibility": "restricted", "reason": "改作指挥所配套"}
    assert client.put(f"/v1/facilities/{hidden}/visibility", json=change).status_code == 200
    in_scope, elsewhere = (
        client_for("manager", admin_codes=["340104"]),
        client_for("manager", admin_codes=["340111"]),
    )
    for caller, sees in ((client, True), (in_scope, True), (elsewhere, False)):
        coverage = caller.get(f"{layer}/coverage").json()["areas"][1]
        assert coverage["shelter_capacity"] == (800 if sees else 500)
        assert coverage["covered_residents"] == (500 if sees else 300)
        uncovered = caller.get(f"{layer}/uncovered").json()["features"]
        assert sum(f["properties"]["uncovered_residents"] for f in uncovered) == (
            600 if sees else 800
        )
        shelters = caller.get(f"{layer}/assignment").json()["shelters"]
        assert (hidden in [s["facility_id"] for s in shelters]) == sees


def test_blocks_are_refined_to_the_district_they_lie_in(client, create, session):
    """Blocks given a province's or a city's code, or none, are placed in the district whose
    loaded boundary covers them; a district's code stands as given. The assignment for a
    district then covers its residents (synthetic squares, as tests/divisions)."""
    hefei, shushan, baohe = (
        box(117.0, 31.6, 117.5, 32.0),
        box(117.15, 31.8, 117.25, 31.9),
        box(117.25, 31.7, 117.35, 31.8),
    )
    features = [BoundaryFeature(c, None, g) for c, g in (("340100", hefei), ("340104", shushan))]
    load_boundaries(session, [*features, BoundaryFeature("340111", None, baohe)], on=date.today())
    session.flush()
    _shelter(create, 0, 5000, 5000)
    in_shushan = f"{BASE_LON},{BASE_LAT + 0.001:.7f}"
    rows = [
        (in_shushan, 100, "340000"),  # a province's code
        (in_shushan, 200, "340100"),  # a city's code
        (in_shushan, 300, "340104"),  # the district's own
        (in_shushan, 400, ""),  # none
        ("117.3,31.75", 50, "340100"),  # Baohe
        ("117.45,31.65", 7, "340100"),  # in Hefei, in no loaded district
    ]
    body = "lon,lat,residents,admin_code\n" + "".join(f"{p},{n},{c}\n" for p, n, c in rows)
    layer = upload(client, body)
    url = f"/v1/planning/population-layers/{layer['id']}"
    areas = client.get(f"{url}/coverage", params={"by": "district"}).json()["areas"]
    assert [(a["admin_code"], a["residents"], a["covered_residents"]) for a in areas] == [
        ("340104", 1000, 1000),
        ("340111", 50, 0),
        (None, 7, 0),
    ]
    city = client.get(f"{url}/coverage", params={"by": "city"}).json()["areas"]
    assert [(a["admin_code"], a["residents"]) for a in city] == [("340100", 1057)]
    assigned = client.get(
        f"{url}/assignment", params={"admin_code": "340104", "max_distance_m": 1000}
    ).json()
    assert (assigned["residents"], assigned["assigned"]) == (1000, 1000)
