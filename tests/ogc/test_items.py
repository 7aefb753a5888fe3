"""Features: CRS, bbox, paging, properties, sorting, datetime and roles."""

import math
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from app.facilities.scope import PUBLIC_WORKS
from app.ogc import service
from tests.uses.test_router import PARKING, uses_url

ITEMS = "/ogc/collections/facilities/items"
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
EPSG = "http://www.opengis.net/def/crs/EPSG/0/"
# Hefei's Shushan district; the tests place their facilities around here.
LON, LAT = 117.2281, 31.8262


def point(lon: float, lat: float) -> dict:
    return {"type": "Point", "coordinates": [lon, lat]}


def ids(response) -> list[int]:
    assert response.status_code == 200, response.text
    return [feature["id"] for feature in response.json()["features"]]


def link(body: dict, rel: str) -> str | None:
    return next((x["href"] for x in body["links"] if x["rel"] == rel), None)


@pytest.fixture
def row(create):
    """Facilities placed on a row of longitudes, 0.001 degree (about 95 m) apart."""

    def make(count: int, **overrides) -> list[int]:
        return [
            create(location=point(LON + i * 0.001, LAT), **overrides)["id"] for i in range(count)
        ]

    return make


def test_items_are_geojson_in_crs84_by_default(public_client, create):
    made = create()
    response = public_client.get(ITEMS)
    assert response.headers["content-type"] == "application/geo+json"
    assert response.headers["content-crs"] == f"<{CRS84}>"
    body = response.json()
    assert body["type"] == "FeatureCollection"
    assert body["numberReturned"] == body["numberMatched"] == 1
    feature = body["features"][0]
    assert feature["id"] == made["id"]
    assert feature["geometry"] == point(LON, LAT)
    assert feature["properties"]["name"] == made["name"]
    assert feature["properties"]["capacity_persons"] == 8000


@pytest.mark.parametrize("code", ["4326", "4490"])
def test_epsg_geographic_systems_put_latitude_first(public_client, create, code):
    made = create()
    response = public_client.get(ITEMS, params={"crs": EPSG + code})
    assert response.headers["content-crs"] == f"<{EPSG}{code}>"
    [feature] = response.json()["features"]
    assert feature["geometry"]["coordinates"] == pytest.approx([LAT, LON], abs=1e-6)
    single = public_client.get(f"{ITEMS}/{made['id']}", params={"crs": EPSG + code})
    assert single.json()["geometry"]["coordinates"] == pytest.approx([LAT, LON], abs=1e-6)


def test_web_mercator_coordinates_are_metres(public_client, create):
    create()
    [feature] = public_client.get(ITEMS, params={"crs": EPSG + "3857"}).json()["features"]
    radius = 6378137.0
    expected = [
        math.radians(LON) * radius,
        math.log(math.tan(math.pi / 4 + math.radians(LAT) / 2)) * radius,
    ]
    assert feature["geometry"]["coordinates"] == pytest.approx(expected, abs=0.01)


@pytest.mark.parametrize("param", ["crs", "bbox-crs", "filter-crs"])
def test_an_unsupported_crs_is_400(public_client, param):
    response = public_client.get(
        ITEMS,
        params={param: EPSG + "2385", "bbox": "117,31,118,32", "filter": "capacity_persons > 1"},
    )
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    assert param in response.json()["detail"] and "2385" in response.json()["detail"]


def test_bbox_in_every_crs_finds_the_same_facility(public_client, row):
    inside, _ = row(2)
    west, east = LON - 0.0004, LON + 0.0004
    south, north = LAT - 0.0004, LAT + 0.0004

    def mercator(lon: float, lat: float) -> tuple[float, float]:
        r = 6378137.0
        return math.radians(lon) * r, math.log(math.tan(math.pi / 4 + math.radians(lat) / 2)) * r

    (mx1, my1), (mx2, my2) = mercator(west, south), mercator(east, north)
    boxes = [
        ({"bbox": f"{west},{south},{east},{north}"}),
        ({"bbox": f"{west},{south},0,{east},{north},100"}),
        ({"bbox": f"{west}000000000000000001,{south},{east},{north}"}),
        ({"bbox": f"{south},{west},{north},{east}", "bbox-crs": EPSG + "4326"}),
        ({"bbox": f"{south},{west},{north},{east}", "bbox-crs": EPSG + "4490"}),
        ({"bbox": f"{mx1},{my1},{mx2},{my2}", "bbox-crs": EPSG + "3857"}),
        ({"bbox": f"{west},{south},{east},{north}", "bbox-crs": CRS84}),
    ]
    for params in boxes:
        assert ids(public_client.get(ITEMS, params=params)) == [inside], params


def test_boxes_of_one_shape_share_a_statement_not_its_values(public_client, row):
    made = row(6)
    shared = service._shared_sql.cache_info().hits
    for first, last in ((0, 2), (3, 5)):
        box = f"{LON + first * 0.001 - 1e-4},{LAT - 1e-4},{LON + last * 0.001 + 1e-4},{LAT + 1e-4}"
        assert sorted(ids(public_client.get(ITEMS, params={"bbox": box}))) == made[first : last + 1]
    assert service._shared_sql.cache_info().hits > shared


def test_the_fast_path_answers_as_the_general_one(public_client, row):
    # A plain page goes as SQL text on the pool's connection (service.fast); a filter that
    # keeps every row sends the same page through a Session.
    made = row(4)
    box = f"{LON - 1e-4},{LAT - 1e-4},{LON + 0.004},{LAT + 1e-4}"
    fast = public_client.get(ITEMS, params={"bbox": box, "limit": 3})
    general = public_client.get(ITEMS, params={"bbox": box, "limit": 3, "filter": "name LIKE '%'"})
    assert general.status_code == 200, general.text
    assert not service.fast(service.ItemsQuery(filter="name LIKE '%'"), False, PUBLIC_WORKS)
    assert fast.json()["features"] == general.json()["features"]
    assert len(ids(fast)) == 3 and set(ids(fast)) <= set(made)
    assert link(fast.json(), "next") is not None


@pytest.mark.parametrize(
    "bbox",
    ["1,2,3", "a,b,c,d", "117,31,nan,32", "118,31,117,32", "117,31,118,95", "", "1,2,3,4,5"],
)
def test_a_bad_bbox_is_400(public_client, bbox):
    response = public_client.get(ITEMS, params={"bbox": bbox})
    assert response.status_code == 400
    assert response.json()["detail"].startswith("bbox")


def test_a_latitude_first_bbox_is_checked_in_its_axis_order(public_client):
    # 117 is a fine longitude but no latitude: EPSG:4326 reads latitude first.
    response = public_client.get(ITEMS, params={"bbox": "117,31,118,32", "bbox-crs": EPSG + "4326"})
    assert response.status_code == 400


def walk(client, url: str, params: dict, rel: str = "next") -> list[list[int]]:
    pages = []
    response = client.get(url, params=params)
    while True:
        pages.append(ids(response))
        href = link(response.json(), rel)
        if href is None:
            return pages
        response = client.get(href)


def test_paging_forward_and_back_neither_skips_nor_repeats(public_client, row):
    made = row(23)
    pages = walk(public_client, ITEMS, {"limit": 5})
    assert [len(page) for page in pages] == [5, 5, 5, 5, 3]
    assert [i for page in pages for i in page] == sorted(made)
    last = public_client.get(ITEMS, params={"limit": 5})
    for _ in range(4):
        last = public_client.get(link(last.json(), "next"))
    assert link(last.json(), "next") is None
    back = [ids(last)]
    while href := link(last.json(), "prev"):
        last = public_client.get(href)
        back.append(ids(last))
    assert back[::-1] == pages


def test_a_box_pages_nearest_its_centre_first_through_ties(public_client, row, create):
    spread = row(5)
    # Seven works registered at one point: equal distances, broken by id.
    stacked = [create(location=point(LON + 0.002, LAT))["id"] for _ in range(7)]
    params = {"limit": 3, "bbox": f"{LON + 0.0015},{LAT - 0.01},{LON + 0.0045},{LAT + 0.01}"}
    pages = walk(public_client, ITEMS, params)
    got = [i for page in pages for i in page]
    # The centre is spread[3]; spread[2], spread[4] and the stack lie 0.001 degree away.
    assert sorted(got) == sorted([*stacked, *spread[2:]]) and len(got) == len(set(got))
    assert got[0] == spread[3]
    start = got.index(stacked[0])
    assert got[start : start + 7] == stacked
    last = public_client.get(ITEMS, params=params)
    while href := link(last.json(), "next"):
        last = public_client.get(href)
    back = [ids(last)]
    while href := link(last.json(), "prev"):
        last = public_client.get(href)
        back.append(ids(last))
    assert back[::-1] == pages


def test_number_matched_only_when_one_page_holds_every_match(public_client, row):
    row(4)
    assert public_client.get(ITEMS, params={"limit": 4}).json()["numberMatched"] == 4
    first = public_client.get(ITEMS, params={"limit": 3}).json()
    assert "numberMatched" not in first and first["numberReturned"] == 3


def test_a_limit_above_the_maximum_is_capped(public_client, row, monkeypatch):
    from app.ogc import router

    assert public_client.get(ITEMS, params={"limit": 0}).status_code == 400
    assert public_client.get(ITEMS, params={"limit": 10_001}).status_code == 200
    row(3)
    monkeypatch.setattr(router, "MAX_LIMIT", 2)
    body = public_client.get(ITEMS, params={"limit": 50}).json()
    assert body["numberReturned"] == 2 and link(body, "next")


def test_a_forged_cursor_is_400(public_client, row):
    row(1)
    for cursor in ("nonsense", "WyJ4IixbMV1d", "WyJhIixbMSwyXV0"):
        response = public_client.get(ITEMS, params={"cursor": cursor})
        assert response.status_code == 400
        assert "cursor" in response.json()["detail"]


def test_properties_selects_the_returned_properties(public_client, create):
    made = create()
    body = public_client.get(ITEMS, params={"properties": "name,capacity_persons"}).json()
    assert body["features"][0]["properties"] == {"name": made["name"], "capacity_persons": 8000}
    single = public_client.get(f"{ITEMS}/{made['id']}", params={"properties": "code"}).json()
    assert single["properties"] == {"code": made["code"]}
    unknown = public_client.get(ITEMS, params={"properties": "name,secret"})
    assert unknown.status_code == 400 and "'secret'" in unknown.json()["detail"]
    restricted = public_client.get(ITEMS, params={"properties": "keyholder_phone"})
    assert restricted.status_code == 400


def test_sortby_orders_and_pages_through_ties_and_nulls(public_client, row, connection):
    made = row(9)
    capacities = [300, None, 100, 300, 200, None, 100, 300, 200]
    for facility_id, capacity in zip(made, capacities, strict=True):
        connection.execute(
            text("UPDATE facility SET capacity_persons = :c WHERE id = :id"),
            {"c": capacity, "id": facility_id},
        )
    by_id = dict(zip(made, capacities, strict=True))
    for sortby, descending in (("capacity_persons", False), ("-capacity_persons", True)):
        pages = walk(public_client, ITEMS, {"limit": 2, "sortby": sortby})
        got = [i for page in pages for i in page]
        assert sorted(got) == sorted(made)
        known = sorted((c for c in capacities if c is not None), reverse=descending)
        assert [by_id[i] for i in got] == [*known, None, None]
        for capacity in set(known):
            tied = [i for i in got if by_id[i] == capacity]
            assert tied == sorted(tied)
        back = walk(public_client, ITEMS, {"limit": 2, "sortby": sortby})
        assert back == pages
    several = ids(public_client.get(ITEMS, params={"sortby": "+status,-id", "limit": 3}))
    assert several == sorted(made, reverse=True)[:3]


def test_sortby_rejects_what_it_cannot_sort(public_client):
    for sortby in ("nothing", "keyholder_phone", "geometry"):
        response = public_client.get(ITEMS, params={"sortby": sortby})
        assert response.status_code == 400 and "sortby" in response.json()["detail"]


def test_datetime_selects_on_the_update_time(public_client, row, connection):
    old, middle, new = row(3)
    stamps = {
        old: datetime(2023, 5, 1, 8, tzinfo=UTC),
        middle: datetime(2024, 6, 15, 12, tzinfo=UTC),
        new: datetime(2025, 1, 2, 0, 30, tzinfo=UTC),
    }
    for facility_id, stamp in stamps.items():
        connection.execute(
            text("UPDATE facility SET updated_at = :t WHERE id = :id"),
            {"t": stamp, "id": facility_id},
        )
    cases = {
        "2024-06-15T12:00:00Z": [middle],
        "2024-06-15": [middle],
        "2024-06-15T20:00:00+08:00": [middle],
        "2024-01-01T00:00:00Z/2025-01-01T00:00:00Z": [middle],
        "2024-01-01/2025-01-02": [middle, new],
        "../2024-06-15T12:00:00Z": [old, middle],
        "2024-06-16/..": [new],
        "/2023-12-31": [old],
        "../..": [old, middle, new],
    }
    for value, expected in cases.items():
        assert ids(public_client.get(ITEMS, params={"datetime": value})) == expected, value
    for bad in ("yesterday", "2025-01-01/2024-01-01", "..", "2024-13-01"):
        response = public_client.get(ITEMS, params={"datetime": bad})
        assert response.status_code == 400 and "datetime" in response.json()["detail"], bad
    for outside, message in (
        ("0001-01-01T00:00:00+14:00", "must lie between 1900-01-01 and 2100-12-31 (UTC)"),
        ("1899-12-31/..", "must lie between 1900-01-01 and 2100-12-31"),
        ("../2101-01-01", "must lie between 1900-01-01 and 2100-12-31"),
    ):
        response = public_client.get(ITEMS, params={"datetime": outside})
        assert response.status_code == 400, outside
        assert response.json()["detail"].startswith("datetime: ")
        assert response.json()["detail"].endswith(message)
    assert ids(public_client.get(ITEMS, params={"datetime": "1900-01-01/2100-12-31"})) == [
        old,
        middle,
        new,
    ]


def test_restricted_properties_follow_the_role(client_for, create, public_client):
    shushan = create()
    baohe = create(admin_code="340111", location=point(117.30, 31.80))

    def properties(caller) -> dict[int, dict]:
        body = caller.get(ITEMS).json()
        return {f["id"]: f["properties"] for f in body["features"]}

    public = properties(public_client)
    assert "keyholder_phone" not in public[shushan["id"]]
    assert "13905510001" not in str(public)
    gis = properties(client_for("gis"))
    assert gis[baohe["id"]]["keyholder_phone"] == "13905510001"
    manager = properties(client_for("manager", admin_codes=["340104"]))
    assert manager[shushan["id"]]["keyholder_phone"] == "13905510001"
    assert manager[baohe["id"]]["keyholder_phone"] is None
    # A filter on a restricted property tells a manager nothing outside its scope.
    filtered = client_for("manager", admin_codes=["340104"]).get(
        ITEMS, params={"filter": "keyholder_phone = '13905510001'"}
    )
    assert ids(filtered) == [shushan["id"]]
    refused = public_client.get(ITEMS, params={"filter": "keyholder_phone = '13905510001'"})
    assert refused.status_code == 400 and "keyholder_phone" in refused.json()["detail"]
    single = public_client.get(f"{ITEMS}/{shushan['id']}").json()["properties"]
    assert "owner_unit" not in single and single["name"] == shushan["name"]


def test_one_feature_and_the_missing_ones(public_client, client, create):
    made = create()
    body = public_client.get(f"{ITEMS}/{made['id']}").json()
    assert body["type"] == "Feature" and body["id"] == made["id"]
    assert link(body, "collection").endswith("/ogc/collections/facilities")
    for missing in (str(made["id"] + 1000), "abc", "99999999999999999999"):
        response = public_client.get(f"{ITEMS}/{missing}")
        assert response.status_code == 404, missing
    client.delete(f"/v1/facilities/{made['id']}")
    assert public_client.get(f"{ITEMS}/{made['id']}").status_code == 404
    assert ids(public_client.get(ITEMS)) == []


def test_parking_shows_availability_only_while_fresh(public_client, client, create, app):
    fresh, stale = create()["id"], create(location=point(LON + 0.01, LAT))["id"]
    for facility_id, minutes in ((fresh, 1), (stale, 16)):
        assert client.post(uses_url(facility_id), json=PARKING).status_code == 201
        moment = datetime.now(UTC) - timedelta(minutes=minutes)
        report = {
            "realtime_free_capacity": 42,
            "realtime_free_charging_piles": 3,
            "realtime_opening_status": "OPEN",
            "realtime_data_updated_at": moment.isoformat(),
        }
        pushed = client.put(f"/v1/facilities/{facility_id}/parking/occupancy", json=report)
        assert pushed.status_code == 200, pushed.text
    features = public_client.get("/ogc/collections/parking/items").json()["features"]
    by_facility = {f["properties"]["facility_id"]: f["properties"] for f in features}
    assert by_facility[fresh]["realtime_free_capacity"] == 42
    assert by_facility[fresh]["realtime_opening_status"] == "OPEN"
    assert by_facility[fresh]["stale"] is False
    assert by_facility[fresh]["total_spaces"] == 320
    assert by_facility[stale]["realtime_free_capacity"] is None
    assert by_facility[stale]["realtime_opening_status"] == "UNKNOWN"
    assert by_facility[stale]["stale"] is True
    free = public_client.get(
        "/ogc/collections/parking/items", params={"filter": "realtime_free_capacity >= 40"}
    )
    assert [f["properties"]["facility_id"] for f in free.json()["features"]] == [fresh]


def test_shelters_entrances_and_signage(public_client, client, create):
    made = create()
    create(status="decommissioned", location=point(LON + 0.01, LAT))
    [shelter] = public_client.get("/ogc/collections/shelters/items").json()["features"]
    assert shelter["id"] == made["id"]
    assert shelter["properties"]["entrance_count"] == 2
    assert [e["kind"] for e in shelter["properties"]["entrances"]] == ["vehicle", "pedestrian"]
    entrances = public_client.get(
        "/ogc/collections/entrances/items", params={"filter": f"facility_id = {made['id']}"}
    ).json()["features"]
    assert [e["properties"]["kind"] for e in entrances] == ["vehicle", "pedestrian"]
    assert entrances[1]["geometry"] == point(117.2277, 31.8259)
    for sign in ({"kind": "identification_plaque", "status": "installed",
                  "installed_on": "2022-03-01", "inspected_on": "2024-04-02"},
                 {"kind": "direction", "status": "missing"}):  # fmt: skip
        assert client.post(f"/v1/facilities/{made['id']}/signs", json=sign).status_code == 201
    signage = public_client.get(
        "/ogc/collections/signage/items", params={"filter": "missing > 0"}
    ).json()["features"]
    assert [s["id"] for s in signage] == [made["id"]]
    expected = {"signs": 2, "installed": 1, "missing": 1, "damaged": 0}
    assert expected.items() <= signage[0]["properties"].items()
    assert signage[0]["properties"]["last_inspected_on"] == "2024-04-02"


def test_restricted_works_and_wartime_entrances_follow_the_role(client_for, create, payload):
    wartime = {"kind": "wartime", "location": point(LON + 0.0003, LAT)}
    post = create(
        wartime_function="command_post",
        wartime_subtype=None,
        entrances=[*payload()["entrances"], wartime],
    )["id"]
    shelter = create(location=point(LON + 0.002, LAT), entrances=[wartime])["id"]

    def features(caller, collection: str) -> list[dict]:
        response = caller.get(f"/ogc/collections/{collection}/items", params={"limit": 1000})
        assert response.status_code == 200, response.text
        return response.json()["features"]

    for who, scope, sees_post, sees_wartime in (
        (None, {}, False, set()),
        ("operator", {"facility_ids": [post]}, True, set()),
        ("manager", {"admin_codes": ["340111"]}, False, set()),
        ("manager", {"admin_codes": ["340104"]}, True, {post, shelter}),
        ("gis", {}, True, {post, shelter}),
    ):
        caller = client_for(who, **scope)
        for collection in ("facilities", "shelters", "signage"):
            found = {f["id"] for f in features(caller, collection)}
            assert (post in found) == sees_post, (who, scope, collection)
        single = caller.get(f"/ogc/collections/facilities/items/{post}")
        assert single.status_code == (200 if sees_post else 404), (who, scope)
        entrances = [f["properties"] for f in features(caller, "entrances")]
        wartime_of = {e["facility_id"] for e in entrances if e["kind"] == "wartime"}
        assert wartime_of == sees_wartime, (who, scope)
        shelters = {f["id"]: f["properties"] for f in features(caller, "shelters")}
        assert shelters[shelter]["entrance_count"] == (1 if sees_wartime else 0), (who, scope)
