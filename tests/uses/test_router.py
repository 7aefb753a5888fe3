from datetime import datetime

import pytest
from sqlalchemy import text

from app.holidays.calendar import DayKind, kind_of
from app.uses.hours import SHANGHAI

PARKING = {
    "type": "parking",
    "name": "天鹅湖地下停车场",
    "opening_hours": "24/7",
    "contact_phone": "0551-65550001",
    "fee": "首小时5元，之后每小时2元",
    "attributes": {
        "total_spaces": 320,
        "accessible_spaces": 6,
        "ev_spaces": 40,
        "charging_piles": 20,
        "charging_max_kw": 60,
        "height_limit_m": 2.2,
        "fee_rules": {"free_minutes": 15, "per_hour": 2, "daily_cap": 30},
    },
}
COOL_SPOT = {
    "type": "cool_spot",
    "opening_hours": "Jun 01-Sep 30 08:00-22:00",
    "attributes": {
        "season_start": "06-01",
        "season_end": "09-30",
        "seats": 60,
        "air_conditioning": True,
        "drinking_water": True,
    },
}


def uses_url(facility_id: int) -> str:
    return f"/v1/facilities/{facility_id}/uses"


def test_create_list_get_update_delete(client, create):
    facility = create()
    url = uses_url(facility["id"])
    response = client.post(url, json=PARKING)
    assert response.status_code == 201, response.text
    parking = response.json()
    assert response.headers["location"].endswith(f"{url}/{parking['id']}")
    assert parking["attributes"]["total_spaces"] == 320
    assert parking["open_now"] is True
    assert parking["availability"]["stale"] is True
    assert parking["availability"]["realtime_free_capacity"] is None

    cool = client.post(url, json=COOL_SPOT).json()
    assert cool["availability"] is None
    assert [u["type"] for u in client.get(url).json()] == ["parking", "cool_spot"]
    assert client.get(f"{url}/{cool['id']}").json()["attributes"]["seats"] == 60

    assert client.get(f"{url}/{parking['id']}").headers["etag"] == '"1"'
    patched = client.patch(
        f"{url}/{parking['id']}",
        json={"fee": "免费", "attributes": {**PARKING["attributes"], "total_spaces": 400}},
        headers={"If-Match": '"1"'},
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["fee"] == "免费"
    assert patched.json()["attributes"]["total_spaces"] == 400
    assert patched.json()["name"] == PARKING["name"]
    assert patched.json()["version"] == 2 and patched.headers["etag"] == '"2"'

    assert client.delete(f"{url}/{cool['id']}").status_code == 204
    assert client.get(f"{url}/{cool['id']}").status_code == 404
    assert [u["type"] for u in client.get(url).json()] == ["parking"]


def test_generated_columns_follow_attributes(client, create, connection):
    facility = create()
    use = client.post(uses_url(facility["id"]), json=PARKING).json()
    row = connection.execute(
        text(
            "SELECT total_spaces, charging_piles, height_limit_m FROM peacetime_use WHERE id = :id"
        ),
        {"id": use["id"]},
    ).one()
    assert (row[0], row[1], float(row[2])) == (320, 20, 2.2)


def test_use_location_follows_its_facility(client, create, connection):
    facility = create()
    use = client.post(uses_url(facility["id"]), json=COOL_SPOT).json()
    moved = {"type": "Point", "coordinates": [117.24, 31.83]}
    response = client.patch(
        f"/v1/facilities/{facility['id']}", json={"location": moved}, headers={"If-Match": "*"}
    )
    assert response.status_code == 200, response.text
    lon, lat = connection.execute(
        text(
            "SELECT ST_X(location::geometry), ST_Y(location::geometry) FROM peacetime_use WHERE id = :id"
        ),
        {"id": use["id"]},
    ).one()
    assert (lon, lat) == (117.24, 31.83)


def test_one_car_park_per_facility(client, create):
    facility = create()
    assert client.post(uses_url(facility["id"]), json=PARKING).status_code == 201
    response = client.post(uses_url(facility["id"]), json=PARKING)
    assert response.status_code == 409
    assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**PARKING, "opening_hours": "Mo-Xx 25:00"}, "opening_hours"),
        ({**PARKING, "attributes": {**PARKING["attributes"], "ev_spaces": 400}}, "attributes"),
        ({**PARKING, "attributes": {**PARKING["attributes"], "total_spaces": -1}}, "total_spaces"),
        ({**PARKING, "attributes": {"accessible_spaces": 3}}, "total_spaces"),
        ({**PARKING, "type": "spa"}, "body"),
        (
            {**COOL_SPOT, "attributes": {**COOL_SPOT["attributes"], "season_start": "13-01"}},
            "season_start",
        ),
        ({**COOL_SPOT, "colour": "blue"}, "colour"),
        ({**PARKING, "contact_phone": "n/a"}, "contact_phone"),
        ({**PARKING, "name": "天鹅湖\x00停车场"}, "body.parking.name"),
        (
            {"type": "gym", "attributes": {"activities": ["羽毛球", "瑜\x00伽"]}},
            "body.gym.attributes.activities",
        ),
    ],
)
def test_bad_uses_are_422_naming_the_field(client, create, body, field):
    facility = create()
    response = client.post(uses_url(facility["id"]), json=body)
    assert response.status_code == 422, response.text
    assert any(field in error["field"] for error in response.json()["errors"])


def test_patch_validates_attributes_against_the_type(client, create):
    facility = create()
    use = client.post(uses_url(facility["id"]), json=COOL_SPOT).json()
    response = client.patch(
        f"{uses_url(facility['id'])}/{use['id']}",
        json={"attributes": {"total_spaces": 10}},
        headers={"If-Match": "*"},
    )
    assert response.status_code == 422
    fields = [e["field"] for e in response.json()["errors"]]
    assert "body.attributes.season_start" in fields
    response = client.patch(
        f"{uses_url(facility['id'])}/{use['id']}",
        json={"attributes": {**COOL_SPOT["attributes"], "season_start": "06\x00-01"}},
        headers={"If-Match": "*"},
    )
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {
            "field": "body.attributes",
            "message": "contains a NUL character (\\u0000), which text cannot hold "
            "(at season_start)",
        }
    ]


def test_uses_of_unknown_or_deleted_facilities(client, create):
    assert client.get(uses_url(987654321)).status_code == 404
    facility = create()
    client.delete(f"/v1/facilities/{facility['id']}", headers={"If-Match": "*"})
    assert client.get(uses_url(facility["id"])).status_code == 410
    assert client.post(uses_url(facility["id"]), json=PARKING).status_code == 410


def test_a_use_of_another_facility_is_not_found(client, create):
    first, second = create(), create()
    use = client.post(uses_url(first["id"]), json=COOL_SPOT).json()
    assert client.get(f"{uses_url(second['id'])}/{use['id']}").status_code == 404


def test_edits_need_the_current_version(client, create):
    facility = create()
    url = f"{uses_url(facility['id'])}/{client.post(uses_url(facility['id']), json=COOL_SPOT).json()['id']}"
    assert client.patch(url, json={"fee": "免费"}).status_code == 428
    assert client.patch(url, json={"fee": "免费"}, headers={"If-Match": '"1"'}).status_code == 200
    stale = client.patch(url, json={"fee": "2元"}, headers={"If-Match": '"1"'})
    assert stale.status_code == 412
    assert client.get(url).json()["fee"] == "免费"
    assert client.delete(url, headers={"If-Match": '"1"'}).status_code == 412
    assert client.delete(url, headers={"If-Match": '"2"'}).status_code == 204


def test_writes_are_audited(client, create, connection):
    facility = create()
    url = uses_url(facility["id"])
    use = client.post(url, json=COOL_SPOT).json()
    client.patch(f"{url}/{use['id']}", json={"fee": "免费"}, headers={"If-Match": "*"})
    client.delete(f"{url}/{use['id']}")
    rows = connection.execute(
        text(
            "SELECT action, changes FROM audit_event WHERE entity = 'peacetime_use' "
            "AND entity_id = :id ORDER BY id"
        ),
        {"id": str(use["id"])},
    ).all()
    assert [action for action, _ in rows] == ["create", "update", "delete"]
    assert rows[1].changes == {"fee": {"old": None, "new": "免费"}}


def test_writes_need_a_key_in_scope(client_for, create):
    facility = create()
    url = uses_url(facility["id"])
    assert client_for(None).post(url, json=COOL_SPOT).status_code == 401
    outsider = client_for("manager", admin_codes=["340200"])
    assert outsider.post(url, json=COOL_SPOT).status_code == 403
    insider = client_for("manager", admin_codes=["340100"])
    assert insider.post(url, json=COOL_SPOT).status_code == 201


def test_a_retried_create_creates_once(client, create):
    facility = create()
    url = uses_url(facility["id"])
    headers = {"Idempotency-Key": "gate-7-retry"}
    first = client.post(url, json=COOL_SPOT, headers=headers)
    second = client.post(url, json=COOL_SPOT, headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] == second.json()["id"]
    assert len(client.get(url).json()) == 1


def test_a_day_declared_and_withdrawn_is_read_by_the_very_next_answer(client, create):
    # Hours are read once a minute per expression and day kind (uses.hours): the kind an
    # admin declares, or withdraws, within the minute is part of what is read.
    today = datetime.now(SHANGHAI).date()
    holiday = kind_of(today) == DayKind.holiday
    url = uses_url(create()["id"])
    use = client.post(url, json={**PARKING, "opening_hours": "24/7; PH off"}).json()

    def open_now() -> bool | None:
        return client.get(f"{url}/{use['id']}").json()["open_now"]

    assert open_now() is not holiday
    kind = "workday" if holiday else "holiday"
    declared = client.put(f"/v1/calendar/{today}", json={"kind": kind, "name": "本地"})
    assert declared.status_code in (200, 201), declared.text
    assert open_now() is holiday
    assert client.delete(f"/v1/calendar/{today}").status_code == 204
    assert open_now() is not holiday
