"""GET /v1/shelters/nearby, the public shelter finder, and the alert mode of
GET /v1/parking/nearby."""

from datetime import UTC, datetime, timedelta

import pytest
from pyproj import Geod

from app.core.geo import CoordSys, position_from_wgs84
from tests.alerts.cap_samples import message
from tests.alerts.test_alerts import wait_until
from tests.nearby.conftest import point

GEOD = Geod(ellps="WGS84")
CENTER = (117.2272, 31.8206)  # Hefei, WGS 84
# CAP polygon (lat,lon) around CENTER, about 2 km each way.
AROUND = "31.80,117.20 31.80,117.25 31.84,117.25 31.84,117.20 31.80,117.20"
FAR = (117.2272, 31.70)  # 13 km south, outside AROUND


def shelters(client, **params):
    params = {"lon": CENTER[0], "lat": CENTER[1], "radius": 5000, **params}
    response = client.get("/v1/shelters/nearby", params=params)
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture
def shelter(create):
    """A personnel shelter at (lon, lat) with the given entrances; returns its id."""

    def make(lon, lat, *, entrances=(), **facility):
        return create(location=point(lon, lat), entrances=list(entrances), **facility)["id"]

    return make


def pedestrian(lon, lat, accessible=False):
    return {"kind": "pedestrian", "accessible": accessible, "location": point(lon, lat)}


def test_nearest_first_by_the_walk_to_a_pedestrian_entrance(public_client, shelter):
    # The first's location is nearer, but its pedestrian entrance lies far beyond the second's.
    first = shelter(
        CENTER[0] + 0.002,
        CENTER[1],
        entrances=[
            pedestrian(CENTER[0] + 0.009, CENTER[1]),
            {"kind": "vehicle", "location": point(CENTER[0] + 0.001, CENTER[1])},
        ],
    )
    second = shelter(
        CENTER[0] + 0.004, CENTER[1], entrances=[pedestrian(CENTER[0] + 0.005, CENTER[1])]
    )
    answer = shelters(public_client)
    items = [i for i in answer["items"] if i["facility_id"] in (first, second)]
    assert [i["facility_id"] for i in items] == [second, first]
    _, _, metres = GEOD.inv(*CENTER, CENTER[0] + 0.005, CENTER[1])
    assert items[0]["distance_m"] == pytest.approx(metres, abs=0.06)
    assert items[0]["entrance"]["distance_m"] == items[0]["distance_m"]
    assert "geodesic" in answer["distance"]
    assert items[0]["capacity_persons"] == 8000
    assert items[0]["navigation"]["amap"].count("mode=walk") == 1
    assert "type=walk" in items[0]["navigation"]["tencent"]


def test_without_a_pedestrian_entrance_the_distance_is_to_the_work(public_client, shelter):
    facility_id = shelter(CENTER[0] + 0.003, CENTER[1])
    [item] = [i for i in shelters(public_client)["items"] if i["facility_id"] == facility_id]
    assert item["entrance"] is None
    _, _, metres = GEOD.inv(*CENTER, CENTER[0] + 0.003, CENTER[1])
    assert item["distance_m"] == pytest.approx(metres, abs=0.06)


def test_only_works_that_take_people_in_service(public_client, shelter):
    kept = shelter(CENTER[0] + 0.001, CENTER[1])
    trunk = shelter(
        CENTER[0] + 0.0012,
        CENTER[1],
        wartime_function="supporting",
        wartime_subtype="evacuation_trunk",
    )
    depot = shelter(
        CENTER[0] + 0.0011, CENTER[1], wartime_function="supporting", wartime_subtype="supply_depot"
    )
    planned = shelter(CENTER[0] + 0.0013, CENTER[1], status="planned")
    ids = {i["facility_id"] for i in shelters(public_client)["items"]}
    assert {kept, trunk} <= ids
    assert not {depot, planned} & ids


def test_positions_and_links_follow_coordsys(public_client, shelter):
    facility_id = shelter(
        CENTER[0] + 0.002, CENTER[1], entrances=[pedestrian(CENTER[0] + 0.0021, CENTER[1])]
    )
    gcj = position_from_wgs84(*CENTER, CoordSys.gcj02)
    answer = shelters(public_client, lon=gcj[0], lat=gcj[1], coordsys="gcj02")
    [item] = [i for i in answer["items"] if i["facility_id"] == facility_id]
    expected = position_from_wgs84(CENTER[0] + 0.0021, CENTER[1], CoordSys.gcj02)
    assert item["entrance"]["location"] == pytest.approx(
        {"lon": expected[0], "lat": expected[1]}, abs=1e-6
    )
    assert f"{expected[0]:.6f},{expected[1]:.6f}" in item["navigation"]["amap"]


@pytest.mark.parametrize(
    "params",
    [
        {"radius": 50_001},
        {"limit": 201},
        {"lon": 2.35, "lat": 48.85},
        {"coordsys": "osgb"},
        {"min_free": 0},
        {"open_now": "true"},
    ],
)
def test_the_same_caps_and_422s_as_parking(public_client, params):
    response = public_client.get(
        "/v1/shelters/nearby", params={"lon": CENTER[0], "lat": CENTER[1], **params}
    )
    assert response.status_code == 422, response.text


def test_accessible_asks_for_a_barrier_free_entrance(public_client, shelter):
    steps = shelter(
        CENTER[0] + 0.001, CENTER[1], entrances=[pedestrian(CENTER[0] + 0.001, CENTER[1])]
    )
    ramp = shelter(
        CENTER[0] + 0.002,
        CENTER[1],
        entrances=[
            pedestrian(CENTER[0] + 0.0015, CENTER[1]),
            pedestrian(CENTER[0] + 0.003, CENTER[1], True),
        ],
    )
    items = shelters(public_client, accessible="true")["items"]
    ids = [i["facility_id"] for i in items]
    assert ramp in ids and steps not in ids
    [item] = [i for i in items if i["facility_id"] == ramp]
    assert item["entrance"]["accessible"] is True


def test_protection_and_conversion_time_only_for_those_who_may_read_them(
    public_client, client, shelter
):
    facility_id = shelter(CENTER[0] + 0.001, CENTER[1])
    [public] = [i for i in shelters(public_client)["items"] if i["facility_id"] == facility_id]
    [admin] = [i for i in shelters(client)["items"] if i["facility_id"] == facility_id]
    assert public["protection"] is None and public["conversion_hours"] is None
    assert admin["conversion_hours"] == 72
    assert admin["protection"] == {
        "nuclear_level": "6",
        "conventional_level": "6",
        "chemical_class": "C",
    }


def report(client, facility_id, state, persons, *, minutes_ago=1):
    moment = (datetime.now(UTC) - timedelta(minutes=minutes_ago)).isoformat()
    response = client.put(
        f"/v1/facilities/{facility_id}/shelter/status",
        json={"state": state, "persons_inside": persons, "observed_at": moment},
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_free_places_from_a_fresh_status_only(public_client, client, shelter):
    fresh = shelter(CENTER[0] + 0.001, CENTER[1], capacity_persons=500, shelter_area=500)
    stale = shelter(CENTER[0] + 0.002, CENTER[1], capacity_persons=500, shelter_area=500)
    full = shelter(CENTER[0] + 0.003, CENTER[1], capacity_persons=500, shelter_area=500)
    report(client, fresh, "open", 120)
    report(client, stale, "open", 10, minutes_ago=60)
    report(client, full, "full", 500)
    items = {i["facility_id"]: i for i in shelters(public_client)["items"]}
    assert items[fresh]["free_places"] == 380
    assert items[fresh]["status"]["state"] == "open" and not items[fresh]["status"]["stale"]
    assert items[stale]["free_places"] is None and items[stale]["status"]["stale"]
    assert items[stale]["status"]["state"] == "unknown"
    assert items[full]["free_places"] == 0
    ids = [i["facility_id"] for i in shelters(public_client, min_free=100)["items"]]
    assert fresh in ids and stale not in ids and full not in ids


def post_alert(client_for, body):
    response = client_for("alert_authority").post(
        "/v1/alerts", content=body, headers={"Content-Type": "application/xml"}
    )
    assert response.status_code == 201, response.text
    return response.json()


def test_a_restricted_work_is_offered_only_while_an_alert_opens_it(
    public_client, client_for, shelter
):
    hidden = shelter(CENTER[0] + 0.001, CENTER[1], visibility="restricted")
    assert hidden not in {i["facility_id"] for i in shelters(public_client)["items"]}
    post_alert(client_for, message("OPEN-0", polygon=AROUND))
    assert hidden not in {i["facility_id"] for i in shelters(public_client)["items"]}
    post_alert(
        client_for,
        message(
            "OPEN-1",
            polygon=AROUND,
            status="Exercise",
            parameters={"rf:openRestrictedWorks": "true"},
        ),
    )
    assert hidden not in {i["facility_id"] for i in shelters(public_client)["items"]}
    post_alert(
        client_for, message("OPEN-2", polygon=AROUND, parameters={"rf:openRestrictedWorks": "true"})
    )
    [item] = [i for i in shelters(public_client)["items"] if i["facility_id"] == hidden]
    assert item["opened_by_alert"] is True and item["protection"] is None


# Alert mode of /v1/parking/nearby


def parking(client, at=CENTER):
    response = client.get("/v1/parking/nearby", params={"lon": at[0], "lat": at[1], "radius": 5000})
    assert response.status_code == 200, response.text
    return response.json()


def test_no_alert_no_alert_mode(public_client, place):
    place(CENTER[0] + 0.001, CENTER[1])
    answer = parking(public_client)
    assert answer["alert_mode"] is False and answer["alerts"] == []
    assert "shelters" not in answer and answer["items"]


def test_an_actual_air_raid_puts_the_alert_and_shelters_first(public_client, client_for, place):
    place(CENTER[0] + 0.001, CENTER[1])
    alert = post_alert(client_for, message("RAID-1", polygon=AROUND))
    answer = parking(public_client)
    assert answer["alert_mode"] is True
    assert [a["id"] for a in answer["alerts"]] == [alert["id"]]
    assert list(answer)[:7] == [
        "coordsys",
        "center",
        "radius_m",
        "generated_at",
        "alert_mode",
        "alerts",
        "shelters",
    ]
    assert answer["shelters"] and answer["shelters"][0]["navigation"]["amap"]
    assert answer["items"]
    # Outside the alert's area nothing changes.
    place(FAR[0], FAR[1] + 0.001)
    far = parking(public_client, FAR)
    assert far["alert_mode"] is False and far["alerts"] == [] and "shelters" not in far


def test_an_air_raid_to_come_switches_answers_at_its_onset(public_client, client_for, place):
    place(CENTER[0] + 0.001, CENTER[1])
    # a margin for a busy machine: the first answer must come before the onset
    onset = (datetime.now(UTC) + timedelta(seconds=8)).replace(microsecond=0)
    post_alert(client_for, message("RAID-LATER", polygon=AROUND, onset=onset))
    answer = parking(public_client)
    assert answer["alert_mode"] is False and answer["alerts"] == [] and "shelters" not in answer
    wait_until(onset)
    assert parking(public_client)["alert_mode"] is True


def test_an_alert_over_a_point_without_car_parks_is_still_told(public_client, client_for):
    # The search's statement gives the alerts' presence on a row of its own then.
    alert = post_alert(client_for, message("RAID-EMPTY", polygon=AROUND))
    answer = public_client.get(
        "/v1/parking/nearby", params={"lon": CENTER[0], "lat": CENTER[1], "radius": 1}
    ).json()
    assert answer["items"] == []
    assert answer["alert_mode"] is True and [a["id"] for a in answer["alerts"]] == [alert["id"]]


@pytest.mark.parametrize("status", ["Exercise", "Test"])
def test_a_drill_is_shown_and_switches_nothing(public_client, client_for, place, status):
    place(CENTER[0] + 0.001, CENTER[1])
    post_alert(client_for, message(f"DRILL-{status}", polygon=AROUND, status=status))
    answer = parking(public_client)
    assert answer["alert_mode"] is False and "shelters" not in answer
    [alert] = answer["alerts"]
    assert alert["drill"] is True and alert["status"] == status


def test_an_actual_alert_that_is_no_air_raid_switches_nothing(public_client, client_for, place):
    place(CENTER[0] + 0.001, CENTER[1])
    post_alert(client_for, message("ALLCLEAR", polygon=AROUND, event="解除警报 all clear"))
    answer = parking(public_client)
    assert answer["alert_mode"] is False and len(answer["alerts"]) == 1
