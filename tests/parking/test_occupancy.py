from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from tests.uses.test_router import PARKING, uses_url


@pytest.fixture
def car_park(client, create):
    facility = create()
    assert client.post(uses_url(facility["id"]), json=PARKING).status_code == 201
    return facility["id"]


def url(facility_id: int) -> str:
    return f"/v1/facilities/{facility_id}/parking/occupancy"


def report(
    free: int = 100, piles: int | None = 5, *, ago: timedelta = timedelta(minutes=1), **extra
):
    moment = datetime.now(UTC) - ago
    return {
        "realtime_free_capacity": free,
        "realtime_free_charging_piles": piles,
        "realtime_opening_status": "OPEN",
        "realtime_data_updated_at": moment.isoformat(),
        **extra,
    }


def history_count(connection, facility_id: int) -> int:
    return connection.scalar(
        text("SELECT count(*) FROM parking_occupancy WHERE facility_id = :id"), {"id": facility_id}
    )


def test_push_then_read_latest_with_age(client, car_park):
    response = client.put(url(car_park), json=report(120, 7))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["realtime_free_capacity"] == 120
    assert body["realtime_free_charging_piles"] == 7
    assert body["realtime_opening_status"] == "OPEN"
    assert body["stale"] is False
    assert 55 <= body["age_seconds"] <= 120
    assert client.get(url(car_park)).json() == {
        **body,
        "age_seconds": client.get(url(car_park)).json()["age_seconds"],
    }


def test_history_by_time_range(client, car_park):
    for minutes, free in ((50, 10), (30, 20), (10, 30)):
        assert (
            client.put(url(car_park), json=report(free, ago=timedelta(minutes=minutes))).status_code
            == 200
        )
    since = (datetime.now(UTC) - timedelta(minutes=40)).isoformat()
    until = (datetime.now(UTC) - timedelta(minutes=5)).isoformat()
    body = client.get(f"{url(car_park)}/history", params={"since": since, "until": until}).json()
    assert [r["realtime_free_capacity"] for r in body["items"]] == [20, 30]
    everything = client.get(f"{url(car_park)}/history").json()["items"]
    assert [r["realtime_free_capacity"] for r in everything] == [10, 20, 30]


def test_a_stale_figure_is_never_current(client, car_park):
    assert client.put(url(car_park), json=report(50, ago=timedelta(minutes=16))).status_code == 200
    body = client.get(url(car_park)).json()
    assert body["stale"] is True
    assert body["realtime_free_capacity"] is None
    assert body["realtime_free_charging_piles"] is None
    assert body["realtime_opening_status"] == "UNKNOWN"
    assert body["age_seconds"] >= 16 * 60
    listed = client.get(uses_url(car_park)).json()[0]["availability"]
    assert listed["stale"] is True and listed["realtime_free_capacity"] is None


def test_a_figure_just_inside_the_limit_is_current(client, car_park):
    assert client.put(url(car_park), json=report(50, ago=timedelta(minutes=14))).status_code == 200
    assert client.get(url(car_park)).json()["realtime_free_capacity"] == 50


def test_the_staleness_limit_is_configurable(client, app, car_park, monkeypatch):
    monkeypatch.setattr(app.state.settings, "occupancy_stale_after_s", 60)
    client.put(url(car_park), json=report(50, ago=timedelta(minutes=2)))
    assert client.get(url(car_park)).json()["stale"] is True


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        (report(321), 422, "realtime_free_capacity"),  # more free than the 320 spaces
        (report(-1), 422, "realtime_free_capacity"),
        (report(10, 21), 422, "realtime_free_charging_piles"),  # more than the 20 piles
        (report(10, -2), 422, "realtime_free_charging_piles"),
        # a day ahead: the body is made when tests are collected, maybe many minutes before it runs
        (report(10, ago=timedelta(days=-1)), 422, "realtime_data_updated_at"),
        (
            {**report(10), "realtime_data_updated_at": "2024-07-01T10:00:00"},
            422,
            "realtime_data_updated_at",
        ),
        # 1 BC in UTC: stored, it was read back by nothing, and no later push was taken
        (
            {**report(10), "realtime_data_updated_at": "0001-01-01T00:00:00+14:00"},
            422,
            "body.realtime_data_updated_at",
        ),
        ({**report(10), "realtime_opening_status": "AJAR"}, 422, "realtime_opening_status"),
        ({**report(10), "colour": "red"}, 422, "colour"),
    ],
)
def test_impossible_reports_are_rejected_and_change_nothing(
    client, connection, car_park, body, status, field
):
    assert client.put(url(car_park), json=report(100, ago=timedelta(minutes=5))).status_code == 200
    before = client.get(url(car_park)).json()
    response = client.put(url(car_park), json=body)
    assert response.status_code == status, response.text
    assert field in response.text
    after = client.get(url(car_park)).json()
    assert after["realtime_free_capacity"] == before["realtime_free_capacity"] == 100
    assert history_count(connection, car_park) == 1


def test_an_older_report_than_the_stored_one_is_409(client, connection, car_park):
    assert client.put(url(car_park), json=report(100, ago=timedelta(minutes=1))).status_code == 200
    response = client.put(url(car_park), json=report(90, ago=timedelta(minutes=3)))
    assert response.status_code == 409
    assert "older than the stored" in response.json()["detail"]
    assert client.get(url(car_park)).json()["realtime_free_capacity"] == 100
    assert history_count(connection, car_park) == 1


def test_a_repeated_identical_push_is_harmless(client, connection, car_park):
    body = report(100)
    first = client.put(url(car_park), json=body)
    second = client.put(url(car_park), json=body)
    assert second.status_code == 200
    assert second.json()["realtime_free_capacity"] == first.json()["realtime_free_capacity"]
    assert history_count(connection, car_park) == 1
    different = client.put(url(car_park), json={**body, "realtime_free_capacity": 99})
    assert different.status_code == 409
    assert history_count(connection, car_park) == 1


def test_a_facility_without_a_car_park(client, create):
    facility = create()
    assert client.put(url(facility["id"]), json=report()).status_code == 404
    assert client.get(url(facility["id"])).status_code == 404


def test_a_smaller_car_park_drops_a_report_it_cannot_hold(client, car_park):
    client.put(url(car_park), json=report(300))
    use_id = client.get(uses_url(car_park)).json()[0]["id"]
    attributes = {**PARKING["attributes"], "total_spaces": 200, "ev_spaces": 20}
    response = client.patch(
        f"{uses_url(car_park)}/{use_id}", json={"attributes": attributes}, headers={"If-Match": "*"}
    )
    assert response.json()["availability"]["realtime_free_capacity"] is None


def test_history_range_errors(client, car_park):
    assert (
        client.get(
            f"{url(car_park)}/history",
            params={"since": "2024-07-02T00:00:00Z", "until": "2024-07-01T00:00:00Z"},
        ).status_code
        == 422
    )
    assert (
        client.get(f"{url(car_park)}/history", params={"since": "2024-07-01T00:00:00"}).status_code
        == 422
    )
    assert client.get(f"{url(car_park)}/history", params={"limit": 0}).status_code == 422
    for name in ("since", "until"):
        response = client.get(
            f"{url(car_park)}/history", params={name: "0001-01-01T00:00:00+14:00"}
        )
        assert response.status_code == 422
        assert response.json()["errors"] == [
            {
                "field": f"query.{name}",
                "message": "must lie between 1900-01-01 and 2100-12-31 (UTC)",
            }
        ]


def test_operators_push_only_for_their_own_facilities(client_for, create, client, connection):
    own, other = create(), create()
    for facility in (own, other):
        assert client.post(uses_url(facility["id"]), json=PARKING).status_code == 201
    operator = client_for("operator", facility_ids=[own["id"]])
    assert operator.put(url(own["id"]), json=report(10)).status_code == 200
    assert operator.put(url(other["id"]), json=report(10)).status_code == 403
    assert client_for(None).put(url(other["id"]), json=report(10)).status_code == 401
    assert history_count(connection, other["id"]) == 0
    # An operator edits nothing else.
    assert (
        operator.post(
            uses_url(own["id"]), json={**PARKING, "type": "gym", "attributes": {}}
        ).status_code
        == 403
    )
