from datetime import UTC, datetime, timedelta
from urllib.parse import unquote

import pytest
from pyproj import Geod
from sqlalchemy import text

from app.core.geo import CoordSys, position_from_wgs84
from app.holidays.calendar import DayKind, kind_of
from app.nearby import service
from app.uses.hours import SHANGHAI
from tests.nearby.conftest import point
from tests.uses.test_router import COOL_SPOT, PARKING, uses_url

GEOD = Geod(ellps="WGS84")
CENTER = (117.2272, 31.8206)  # Hefei, WGS 84


def nearby(client, path="/v1/parking/nearby", **params):
    params = {"lon": CENTER[0], "lat": CENTER[1], "radius": 5000, **params}
    response = client.get(path, params=params)
    assert response.status_code == 200, response.text
    return response.json()


def test_results_are_ordered_by_geodesic_distance(client, place):
    # Offsets chosen so that degree distances and ground distances disagree on the order:
    # at 31.8° N a degree of longitude is about 15 % shorter than one of latitude.
    offsets = [(0.010, 0.0), (0.0, 0.0089), (0.0065, 0.0065), (-0.002, -0.001), (0.02, 0.015)]
    ids = [place(CENTER[0] + dx, CENTER[1] + dy) for dx, dy in offsets]
    items = [i for i in nearby(client, limit=200)["items"] if i["facility_id"] in ids]
    assert len(items) == len(ids)
    expected = []
    for facility_id, (dx, dy) in zip(ids, offsets, strict=True):
        _, _, metres = GEOD.inv(CENTER[0], CENTER[1], CENTER[0] + dx, CENTER[1] + dy)
        expected.append((metres, facility_id))
    expected.sort()
    assert [i["facility_id"] for i in items] == [fid for _, fid in expected]
    for item, (metres, _) in zip(items, expected, strict=True):
        assert item["distance_m"] == pytest.approx(metres, abs=0.06)


def test_radius_and_limit(client, place):
    near = place(CENTER[0] + 0.001, CENTER[1])
    far = place(CENTER[0] + 0.05, CENTER[1])  # about 4.7 km east
    ids = {i["facility_id"] for i in nearby(client, radius=1000, limit=200)["items"]}
    assert near in ids and far not in ids
    ids = {i["facility_id"] for i in nearby(client, radius=5000, limit=200)["items"]}
    assert {near, far} <= ids
    assert len(nearby(client, limit=1)["items"]) == 1


def test_each_result_carries_what_a_driver_needs(client, place):
    entrances = [
        {"kind": "pedestrian", "location": point(CENTER[0] + 0.0031, CENTER[1])},
        {"kind": "vehicle", "accessible": True, "location": point(CENTER[0] + 0.0035, CENTER[1])},
        {"kind": "wartime", "location": point(CENTER[0] + 0.0030, CENTER[1])},
    ]
    facility_id = place(CENTER[0] + 0.0033, CENTER[1], entrances=entrances)
    moment = (datetime.now(UTC) - timedelta(minutes=2)).isoformat()
    client.put(
        f"/v1/facilities/{facility_id}/parking/occupancy",
        json={
            "realtime_free_capacity": 42,
            "realtime_free_charging_piles": 3,
            "realtime_opening_status": "OPEN",
            "realtime_data_updated_at": moment,
        },
    )
    item = next(i for i in nearby(client)["items"] if i["facility_id"] == facility_id)
    assert item["entrance"]["kind"] == "vehicle"  # a car park sends drivers to the ramp
    _, _, metres = GEOD.inv(*CENTER, CENTER[0] + 0.0035, CENTER[1])
    assert item["entrance"]["distance_m"] == pytest.approx(metres, abs=0.06)
    assert item["availability"]["realtime_free_capacity"] == 42
    assert 100 <= item["availability"]["age_seconds"] <= 200
    assert item["parking"]["charging_piles"] == 20
    assert item["fee"] == PARKING["fee"]
    assert item["opening_hours"] == "24/7" and item["open_now"] is True
    gcj = position_from_wgs84(CENTER[0] + 0.0035, CENTER[1], CoordSys.gcj02)
    bd = position_from_wgs84(CENTER[0] + 0.0035, CENTER[1], CoordSys.bd09)
    assert f"{gcj[0]:.6f},{gcj[1]:.6f}" in item["navigation"]["amap"]
    assert f"{gcj[1]:.6f},{gcj[0]:.6f}" in item["navigation"]["tencent"]
    assert f"{bd[1]:.6f},{bd[0]:.6f}" in item["navigation"]["baidu"]
    assert "coord_type=bd09ll" in item["navigation"]["baidu"]


def test_filters(client, place):
    plain = place(
        CENTER[0] + 0.001,
        CENTER[1],
        attributes={"charging_piles": 0, "ev_spaces": 0, "accessible_spaces": 0},
    )
    charging = place(CENTER[0] + 0.002, CENTER[1])
    low = place(CENTER[0] + 0.003, CENTER[1], attributes={"height_limit_m": 1.9})
    closed = place(CENTER[0] + 0.004, CENTER[1], use={**PARKING, "opening_hours": "Mo-Su off"})
    moment = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    for facility_id, free in ((charging, 25), (low, 3)):
        client.put(
            f"/v1/facilities/{facility_id}/parking/occupancy",
            json={"realtime_free_capacity": free, "realtime_data_updated_at": moment},
        )
    mine = {plain, charging, low, closed}

    def ids(**params) -> set[int]:
        return {i["facility_id"] for i in nearby(client, limit=200, **params)["items"]} & mine

    assert ids() == mine
    assert ids(ev=True) == {charging, low, closed}
    assert ids(accessible=True) == {charging, low, closed}
    assert ids(max_height=2.0) == {plain, charging, closed}
    assert ids(min_free=10) == {charging}
    assert ids(open_now=True) == {plain, charging, low}


def test_a_fresh_closed_report_is_not_open_now(client, place):
    facility_id = place(CENTER[0] + 0.001, CENTER[1])
    moment = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    client.put(
        f"/v1/facilities/{facility_id}/parking/occupancy",
        json={
            "realtime_free_capacity": 5,
            "realtime_opening_status": "CLOSED",
            "realtime_data_updated_at": moment,
        },
    )
    ids = {i["facility_id"] for i in nearby(client, open_now=True, limit=200)["items"]}
    assert facility_id not in ids


def test_hours_written_past_the_apis_check_are_not_known(client, place, connection):
    # psql can store what the API and the import refuse: the search answers null for it.
    refused = ["", "not hours", "Mo-Fr 25:00-26:00"]
    mine = [place(CENTER[0] + 0.0001 * (n + 1), CENTER[1]) for n in range(len(refused))]
    for facility_id, expression in zip(mine, refused, strict=True):
        connection.execute(
            text("UPDATE peacetime_use SET opening_hours = :hours WHERE facility_id = :id"),
            {"hours": expression, "id": facility_id},
        )
    items = nearby(client, limit=200)["items"]
    assert [i["open_now"] for i in items if i["facility_id"] in mine] == [None] * len(mine)
    assert nearby(client, open_now=True)["items"] == []
    for facility_id in mine:  # and the facility's own list of uses
        [use] = client.get(uses_url(facility_id)).json()
        assert use["open_now"] is None


def test_hours_of_24_7_are_open_without_being_read(client, place, monkeypatch):
    # The search writes open_now for the commonest hours itself; the others are read.
    always = place(CENTER[0] + 0.001, CENTER[1])
    daily = place(
        CENTER[0] + 0.002, CENTER[1], use={**PARKING, "opening_hours": "Mo-Su 06:00-23:00"}
    )
    service._verdicts.cache_clear()
    monkeypatch.setattr(service, "is_open", lambda *args: None)
    found = {i["facility_id"]: i["open_now"] for i in nearby(client, limit=200)["items"]}
    assert found[always] is True and found[daily] is None


def test_a_day_an_admin_declares_a_holiday_closes_what_is_closed_on_holidays(client, place):
    # The search reads the day's declared kind with its places (one statement).
    facility_id = place(
        CENTER[0] + 0.001, CENTER[1], use={**PARKING, "opening_hours": "24/7; PH off"}
    )
    today = datetime.now(SHANGHAI).date().isoformat()

    def open_now() -> bool | None:
        [item] = [i for i in nearby(client)["items"] if i["facility_id"] == facility_id]
        return item["open_now"]

    if kind_of(datetime.now(SHANGHAI).date()) != DayKind.holiday:
        assert open_now() is True
    response = client.put(f"/v1/calendar/{today}", json={"kind": "holiday", "name": "本地假日"})
    assert response.status_code in (200, 201), response.text
    assert open_now() is False


def test_deleted_and_suspended_facilities_are_not_offered(client, place):
    deleted = place(CENTER[0] + 0.001, CENTER[1])
    suspended = place(CENTER[0] + 0.002, CENTER[1], status="suspended")
    client.delete(f"/v1/facilities/{deleted}", headers={"If-Match": "*"})
    ids = {i["facility_id"] for i in nearby(client, limit=200)["items"]}
    assert not {deleted, suspended} & ids


def test_other_uses_nearby(client, place):
    cool = place(CENTER[0] + 0.001, CENTER[1], use=COOL_SPOT)
    car = place(CENTER[0] + 0.002, CENTER[1])
    body = nearby(client, path="/v1/uses/nearby", type="cool_spot", limit=200)
    ids = {i["facility_id"] for i in body["items"]}
    assert cool in ids and car not in ids
    item = next(i for i in body["items"] if i["facility_id"] == cool)
    assert item["attributes"]["seats"] == 60
    assert item["parking"] is None and item["availability"] is None
    assert "mode=walk" in item["navigation"]["amap"]


@pytest.mark.parametrize("coordsys", [CoordSys.gcj02, CoordSys.bd09, CoordSys.cgcs2000])
def test_query_and_answer_in_the_callers_coordinate_system(client, place, coordsys):
    facility_id = place(CENTER[0] + 0.002, CENTER[1] + 0.001)
    wgs = nearby(client, limit=200)
    lon, lat = position_from_wgs84(*CENTER, coordsys)
    shifted = nearby(client, lon=lon, lat=lat, coordsys=coordsys.value, limit=200)
    assert shifted["coordsys"] == coordsys.value
    assert shifted["center"] == {"lon": lon, "lat": lat}
    a = next(i for i in wgs["items"] if i["facility_id"] == facility_id)
    b = next(i for i in shifted["items"] if i["facility_id"] == facility_id)
    expected = position_from_wgs84(CENTER[0] + 0.002, CENTER[1] + 0.001, coordsys)
    assert (b["location"]["lon"], b["location"]["lat"]) == pytest.approx(expected, abs=1e-7)
    # The same ground, read through another system: the same distance within centimetres.
    assert b["distance_m"] == pytest.approx(a["distance_m"], abs=0.2)


def test_answers_are_never_labelled_geojson(client, place):
    place(CENTER[0] + 0.001, CENTER[1])
    for coordsys in ("wgs84", "gcj02"):
        response = client.get(
            "/v1/parking/nearby", params={"lon": CENTER[0], "lat": CENTER[1], "coordsys": coordsys}
        )
        assert response.headers["content-type"] == "application/json"
        assert "type" not in response.json()["items"][0]["location"]


@pytest.mark.parametrize(
    "params",
    [
        {"lat": 95},
        {"lon": 181},
        {"lon": 2.35, "lat": 48.85},  # Paris: outside China
        {"radius": 50_001},
        {"radius": 0},
        {"limit": 201},
        {"limit": 0},
        {"coordsys": "utm"},
        {"max_height": 12},
        {"min_free": 0},
        {"lon": "east"},
        {"fields": "name,price"},
        {"fields": " , "},
    ],
)
def test_bad_parameters_are_422(client, params):
    response = client.get(
        "/v1/parking/nearby", params={"lon": CENTER[0], "lat": CENTER[1], **params}
    )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"


def test_uses_nearby_needs_a_known_type(client):
    response = client.get(
        "/v1/uses/nearby", params={"lon": CENTER[0], "lat": CENTER[1], "type": "spa"}
    )
    assert response.status_code == 422


def test_restricted_works_and_wartime_entrances_are_never_offered(client, client_for, place):
    """Nearby shows the public's way in, to every caller: no restricted work, no wartime
    entrance (sealed in peacetime), so a work reached only through one is navigated to."""
    hidden = place(
        CENTER[0] + 0.001, CENTER[1], wartime_function="command_post", wartime_subtype=None
    )
    lone_entrance = (CENTER[0] + 0.0021, CENTER[1])
    lone = place(
        CENTER[0] + 0.002,
        CENTER[1],
        entrances=[{"kind": "wartime", "location": point(*lone_entrance)}],
    )
    gcj = position_from_wgs84(CENTER[0] + 0.002, CENTER[1], CoordSys.gcj02)
    for caller in (client_for(None), client):
        items = {i["facility_id"]: i for i in nearby(caller, limit=200)["items"]}
        assert hidden not in items
        assert items[lone]["entrance"] is None
        assert f"{gcj[0]:.6f},{gcj[1]:.6f}" in items[lone]["navigation"]["amap"]

    def found() -> bool:
        return hidden in {i["facility_id"] for i in nearby(client, limit=200)["items"]}

    url = f"/v1/facilities/{hidden}/visibility"
    client.put(url, json={"visibility": "public", "reason": "对外开放停车"})
    assert found()
    client.put(url, json={"visibility": "restricted", "reason": "恢复限制"})
    assert not found()


def test_open_now_agrees_with_a_fresh_closed_report_everywhere(client, place):
    # The hours say 24/7; the gate system says the car park is closed right now.
    facility_id = place(CENTER[0] + 0.001, CENTER[1])
    moment = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    response = client.put(
        f"/v1/facilities/{facility_id}/parking/occupancy",
        json={
            "realtime_free_capacity": 5,
            "realtime_opening_status": "CLOSED",
            "realtime_data_updated_at": moment,
        },
    )
    assert response.status_code < 300, response.text
    [item] = [i for i in nearby(client, limit=200)["items"] if i["facility_id"] == facility_id]
    assert item["availability"]["realtime_opening_status"] == "CLOSED"
    assert item["open_now"] is False
    [use] = client.get(f"/v1/facilities/{facility_id}/uses").json()
    assert use["availability"]["realtime_opening_status"] == "CLOSED"
    assert use["open_now"] is False


def test_a_stale_closed_report_leaves_the_hours_to_decide(client, place):
    facility_id = place(CENTER[0] + 0.001, CENTER[1])
    moment = (datetime.now(UTC) - timedelta(hours=2)).isoformat()
    client.put(
        f"/v1/facilities/{facility_id}/parking/occupancy",
        json={
            "realtime_free_capacity": 5,
            "realtime_opening_status": "CLOSED",
            "realtime_data_updated_at": moment,
        },
    )
    [item] = [i for i in nearby(client, limit=200)["items"] if i["facility_id"] == facility_id]
    assert item["open_now"] is True
    [use] = client.get(f"/v1/facilities/{facility_id}/uses").json()
    assert use["open_now"] is True


def test_fields_keep_only_the_members_asked_for_in_that_order(client, place):
    facility_id = place(CENTER[0] + 0.002, CENTER[1])
    [full] = [i for i in nearby(client)["items"] if i["facility_id"] == facility_id]
    chosen = "name, distance_m,location,availability,open_now"
    [item] = nearby(client, fields=chosen)["items"]
    assert list(item) == ["name", "distance_m", "location", "availability", "open_now"]
    assert item == {name: full[name] for name in item}
    [linked] = nearby(client, fields="navigation,use_id")["items"]
    assert linked == {"navigation": full["navigation"], "use_id": full["use_id"]}
    gcj = nearby(client, fields="location", coordsys="gcj02", lon=CENTER[0], lat=CENTER[1])
    assert gcj["items"][0]["location"] != full["location"]


def test_navigation_links_carry_the_name_percent_encoded(client, place):
    name = "万达广场2号地下车库 B-1_停车场.~&?"
    place(CENTER[0] + 0.002, CENTER[1], use={**PARKING, "name": name})
    [item] = nearby(client)["items"]
    links = item["navigation"]
    label = links["amap"].split("?to=")[1].split("&")[0].split(",")[2]
    assert unquote(label) == name and "&" not in label and " " not in label
    assert f"%7Cname:{label}&" in links["baidu"]
    assert f"&to={label}&" in links["tencent"]
    assert links["amap"].endswith("&src=rf-registry")


def test_a_renamed_place_is_linked_by_its_new_name(client, place):
    facility_id = place(CENTER[0] + 0.002, CENTER[1])
    [use] = client.get(uses_url(facility_id)).json()
    renamed = client.patch(
        f"{uses_url(facility_id)}/{use['id']}",
        json={"name": "天鹅湖人防车库 B-1"},
        headers={"If-Match": "*"},
    )
    assert renamed.status_code == 200, renamed.text
    [item] = nearby(client)["items"]
    label = item["navigation"]["amap"].split("?to=")[1].split("&")[0].split(",")[2]
    assert item["name"] == unquote(label) == "天鹅湖人防车库 B-1"


def test_a_renamed_work_names_its_unnamed_use_in_the_links(client, place):
    unnamed = {k: v for k, v in PARKING.items() if k != "name"}
    facility_id = place(CENTER[0] + 0.002, CENTER[1], use=unnamed)
    renamed = client.patch(
        f"/v1/facilities/{facility_id}",
        json={"name": "蜀山 A&B #2 %+/ 车库"},
        headers={"If-Match": "*"},
    )
    assert renamed.status_code == 200, renamed.text
    [item] = nearby(client)["items"]
    label = item["navigation"]["tencent"].split("&to=")[1].split("&")[0]
    assert item["name"] == unquote(label) == "蜀山 A&B #2 %+/ 车库"


# Control characters, JSON's metacharacters, text that reads as an escape, and characters
# of three and four bytes in UTF-8: open_now is written into the search's items at offsets
# counted in bytes (service._open_now), after text like this.
ODD_TEXT = 'a\x01"b\\\x01c\x1f\\u0001 \u2028d 蜀山 🅿'


@pytest.mark.parametrize(
    "query",
    [
        {},
        {"open_now": True},
        {"fields": "open_now,name,entrance"},
        {"open_now": True, "fields": "fee"},
    ],
)
def test_odd_stored_text_leaves_the_items_whole(client, place, query):
    # Every text an item carries holds it, the opening hours too (in a comment). Three
    # places: open, closed and without hours, nearest first.
    entrances = [{"kind": "vehicle", "name": ODD_TEXT, "location": point(CENTER[0], CENTER[1])}]
    texts = {"name": ODD_TEXT, "fee": ODD_TEXT}
    hours = ['Mo-Su 00:00-24:00 "x\x01y 蜀"', 'Mo-Su off "蜀\x01"', None]
    mine = [
        place(
            CENTER[0] + 0.0001 * (n + 1),
            CENTER[1],
            use={**PARKING, **texts, "opening_hours": expression},
            entrances=entrances,
            name=ODD_TEXT,
            address=ODD_TEXT,
        )
        for n, expression in enumerate(hours)
    ]
    response = client.get(
        "/v1/parking/nearby", params={"lon": CENTER[0], "lat": CENTER[1], "limit": 200, **query}
    )
    assert response.status_code == 200, response.text
    assert b"\x01" not in response.content
    items = response.json()["items"]
    if "fields" not in query:
        assert [i["facility_id"] for i in items if i["facility_id"] in mine] == mine[: len(items)]
    if "open_now" in query.get("fields", "open_now"):
        expected = [True] if query.get("open_now") else [True, False, None]
        assert [i["open_now"] for i in items][:3] == expected
    for item in items:
        for member in ("name", "address", "fee"):
            assert item.get(member, ODD_TEXT) == ODD_TEXT
        if "entrance" in item:
            assert item["entrance"]["name"] == ODD_TEXT
