"""PUT /v1/facilities/{id}/shelter/status: each refusal, staleness, history, and the
assignment with live figures and for an alert's area."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from tests.alerts.cap_samples import message
from tests.planning.test_assignment import SHELTER, north, upload


def url(facility_id: int) -> str:
    return f"/v1/facilities/{facility_id}/shelter/status"


def at(minutes_ago: float = 1) -> str:
    return (datetime.now(UTC) - timedelta(minutes=minutes_ago)).isoformat()


def body(state="open", persons=100, observed_at=None):
    return {"state": state, "persons_inside": persons, "observed_at": observed_at or at()}


@pytest.fixture
def shelter(create):
    return create(capacity_persons=1000, shelter_area=1000)["id"]


def reports(connection, facility_id) -> int:
    return connection.execute(
        text("SELECT count(*) FROM shelter_status WHERE facility_id = :id"), {"id": facility_id}
    ).scalar_one()


def test_a_report_is_stored_and_read_back(client, public_client, shelter):
    response = client.put(url(shelter), json=body(persons=250))
    assert response.status_code == 200, response.text
    assert response.json() | {"age_seconds": 0} == {
        "state": "open",
        "persons_inside": 250,
        "free_places": 750,
        "capacity_persons": 1000,
        "observed_at": response.json()["observed_at"],
        "age_seconds": 0,
        "stale": False,
    }
    assert public_client.get(url(shelter)).json()["free_places"] == 750


def test_the_same_report_again_changes_nothing(client, connection, shelter):
    report = body()
    assert client.put(url(shelter), json=report).status_code == 200
    assert client.put(url(shelter), json=report).status_code == 200
    assert reports(connection, shelter) == 1


# Built when the test runs, not when it is collected: a long suite would age them.
@pytest.mark.parametrize(
    ("second", "status", "says"),
    [
        (lambda first: body(observed_at=at(10)), 409, "older than the stored report"),
        (lambda first: body(persons=101, observed_at=first), 409, "a different report"),
        (lambda first: body(persons=1201), 422, "exceeds the 1000 places"),
        (
            lambda first: body(observed_at=(datetime.now(UTC) + timedelta(hours=1)).isoformat()),
            422,
            "future",
        ),
        (lambda first: body(persons=-1), 422, "persons_inside"),
        (lambda first: body(state="half"), 422, "state"),
    ],
)
def test_each_refusal_changes_nothing(client, connection, shelter, second, status, says):
    first = body(observed_at=at(5))
    assert client.put(url(shelter), json=first).status_code == 200
    response = client.put(url(shelter), json=second(first["observed_at"]))
    assert response.status_code == status, response.text
    assert says in response.text
    assert reports(connection, shelter) == 1


def test_the_tolerance_allows_some_overfill(client, shelter):
    response = client.put(url(shelter), json=body(state="full", persons=1200))
    assert response.status_code == 200, response.text
    assert response.json()["free_places"] == 0


def test_a_stale_report_is_not_shown_as_current(client, shelter, settings):
    old = at(settings.shelter_status_stale_after_s / 60 + 5)
    response = client.put(url(shelter), json=body(persons=10, observed_at=old))
    assert response.status_code == 200
    read = response.json()
    assert read["stale"] and read["state"] is None and read["free_places"] is None
    assert read["persons_inside"] is None and read["age_seconds"] > 0


def test_history_keeps_every_report(client, shelter):
    for minutes, persons in ((30, 10), (20, 300), (10, 900)):
        client.put(url(shelter), json=body(persons=persons, observed_at=at(minutes)))
    history = client.get(url(shelter) + "/history").json()
    assert [r["persons_inside"] for r in history["items"]] == [10, 300, 900]
    assert all(r["reported_by"].startswith("key:") for r in history["items"])


def test_the_history_names_the_reporting_key_to_staff_of_the_work_only(
    client, client_for, public_client, shelter
):
    client.put(url(shelter), json=body())
    named = client.get(url(shelter) + "/history").json()["items"]
    assert named[0]["reported_by"].startswith("key:")
    for staff in (client_for("gis"), client_for("manager", admin_codes=["340100"])):
        assert staff.get(url(shelter) + "/history").json()["items"] == named
    # Key ids and names are for the audit trail, not for anyone who asks.
    for reader in (public_client, client_for("app"), client_for("manager", admin_codes=["340200"])):
        [item] = reader.get(url(shelter) + "/history").json()["items"]
        assert item["reported_by"] is None
        assert item["persons_inside"] == named[0]["persons_inside"]


def test_who_may_report(client_for, create):
    facility = create(capacity_persons=1000, shelter_area=1000)["id"]
    assert client_for(None).put(url(facility), json=body()).status_code == 401
    assert client_for("gis").put(url(facility), json=body()).status_code == 403
    assert (
        client_for("operator", facility_ids=[facility + 1])
        .put(url(facility), json=body())
        .status_code
        == 403
    )
    assert (
        client_for("operator", facility_ids=[facility]).put(url(facility), json=body()).status_code
        == 200
    )


def test_a_work_that_shelters_no_one_has_no_status(client, create):
    depot = create(wartime_function="supporting", wartime_subtype="supply_depot")["id"]
    response = client.put(url(depot), json=body())
    assert response.status_code == 404
    assert "no shelter" in response.json()["detail"]


def assign(client, layer_id, **params):
    response = client.get(
        f"/v1/planning/population-layers/{layer_id}/assignment",
        params={"max_distance_m": 500, **params},
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_assignment_fills_only_the_free_places_of_a_fresh_report(client, create):
    shelter = create(location=SHELTER, capacity_persons=100, shelter_area=100)["id"]
    layer = upload(
        client,
        f"lon,lat,residents\n{SHELTER['coordinates'][0]},{north(0.0005)['coordinates'][1]},80\n",
    )
    before = assign(client, layer["id"])
    assert before["assigned"] == 80
    client.put(url(shelter), json=body(persons=70))
    after = assign(client, layer["id"])
    assert after["assigned"] == 30 and after["unassigned"] == 50
    [load] = after["shelters"]
    assert (load["capacity"], load["places"], load["live"], load["load"]) == (100, 30, True, 30)
    client.put(url(shelter), json=body(state="closed", persons=0))
    assert assign(client, layer["id"])["assigned"] == 0


def test_a_stale_report_leaves_the_capacity(client, create, settings):
    shelter = create(location=SHELTER, capacity_persons=100, shelter_area=100)["id"]
    layer = upload(
        client,
        f"lon,lat,residents\n{SHELTER['coordinates'][0]},{north(0.0005)['coordinates'][1]},80\n",
    )
    old = at(settings.shelter_status_stale_after_s / 60 + 5)
    client.put(url(shelter), json=body(state="full", persons=100, observed_at=old))
    result = assign(client, layer["id"])
    assert result["assigned"] == 80 and result["shelters"][0]["live"] is False


def test_assignment_for_the_residents_of_an_alerts_area(client, client_for, create):
    create(location=SHELTER, capacity_persons=1000, shelter_area=1000)
    lon = SHELTER["coordinates"][0]
    inside, outside = north(0.0005)["coordinates"][1], north(0.0300)["coordinates"][1]
    layer = upload(client, f"lon,lat,residents\n{lon},{inside},80\n{lon},{outside},40\n")
    # A 1 km circle around the shelter: the first block only.
    alert = client_for("alert_authority").post(
        "/v1/alerts",
        content=message("AREA-1", polygon=None, circle=f"{SHELTER['coordinates'][1]},{lon} 1"),
        headers={"Content-Type": "application/xml"},
    )
    assert alert.status_code == 201, alert.text
    result = assign(client, layer["id"], alert_id=alert.json()["id"])
    assert (result["residents"], result["assigned"]) == (80, 80)
    assert assign(client, layer["id"])["residents"] == 120
    missing = client.get(
        f"/v1/planning/population-layers/{layer['id']}/assignment", params={"alert_id": 999999}
    )
    assert missing.status_code == 404


def test_the_shelters_collection_carries_the_live_status(client, public_client, shelter):
    client.put(url(shelter), json=body(persons=400))
    response = public_client.get(f"/ogc/collections/shelters/items/{shelter}")
    assert response.status_code == 200, response.text
    properties = response.json()["properties"]
    assert (properties["shelter_state"], properties["persons_inside"]) == ("open", 400)
    assert properties["free_places"] == 600 and properties["status_observed_at"]


def test_the_shelters_collection_marks_a_stale_status(client, public_client, shelter):
    none = public_client.get(f"/ogc/collections/shelters/items/{shelter}").json()["properties"]
    assert none["status_stale"] is True and none["status_observed_at"] is None
    client.put(url(shelter), json=body(persons=400, observed_at=at(11)))
    response = public_client.get(f"/ogc/collections/shelters/items/{shelter}")
    properties = response.json()["properties"]
    assert properties["status_stale"] is True and properties["status_observed_at"]
    assert [properties[k] for k in ("shelter_state", "persons_inside", "free_places")] == [None] * 3
    client.put(url(shelter), json=body(persons=400))
    response = public_client.get(f"/ogc/collections/shelters/items/{shelter}")
    assert response.json()["properties"]["status_stale"] is False
