"""The search rows (use_search, migration 0005) follow every write that changes an answer."""

import pytest
from pyproj import Geod

from tests.nearby.conftest import point
from tests.nearby.test_router import CENTER, nearby
from tests.uses.test_router import uses_url

GEOD = Geod(ellps="WGS84")
EAST = (CENTER[0] + 0.003, CENTER[1])


def found(client, facility_id, **params) -> dict | None:
    items = nearby(client, limit=200, **params)["items"]
    return next((i for i in items if i["facility_id"] == facility_id), None)


def patch(client, facility_id, **changes):
    response = client.patch(
        f"/v1/facilities/{facility_id}", json=changes, headers={"If-Match": "*"}
    )
    assert response.status_code == 200, response.text


def test_facility_edits_reach_the_answer(client, place):
    facility_id = place(*EAST)
    patch(client, facility_id, name="新名称防空地下室", address="合肥市蜀山区新地址1号")
    # The parking use has its own name (tests.uses PARKING); the address is the facility's.
    assert found(client, facility_id)["address"] == "合肥市蜀山区新地址1号"

    moved = (CENTER[0] - 0.004, CENTER[1] + 0.001)
    patch(client, facility_id, location=point(*moved))
    item = found(client, facility_id)
    assert item["location"] == {"lon": pytest.approx(moved[0]), "lat": pytest.approx(moved[1])}
    _, _, metres = GEOD.inv(*CENTER, *moved)
    assert abs(item["distance_m"] - metres) < 0.06


def test_facilities_out_of_service_or_deleted_drop_out(client, place):
    suspended, deleted = place(*EAST), place(CENTER[0], CENTER[1] + 0.002)
    patch(client, suspended, status="suspended")
    assert found(client, suspended) is None
    patch(client, suspended, status="in_service")
    assert found(client, suspended) is not None

    assert client.delete(f"/v1/facilities/{deleted}").status_code == 204
    assert found(client, deleted) is None


def test_the_nearest_usable_entrance_is_chosen_for_the_query_point(client, place):
    west_ramp = point(EAST[0] - 0.0008, EAST[1])
    east_ramp = point(EAST[0] + 0.0008, EAST[1])
    facility_id = place(
        *EAST,
        entrances=[
            {"kind": "vehicle", "name": "西口", "location": west_ramp},
            {"kind": "vehicle", "name": "东口", "location": east_ramp},
            # nearer to the centre, but sealed in peacetime
            {"kind": "wartime", "location": point(EAST[0] - 0.002, EAST[1])},
        ],
    )
    assert found(client, facility_id)["entrance"]["name"] == "西口"
    far_east = {"lon": EAST[0] + 0.01, "lat": EAST[1]}
    assert found(client, facility_id, **far_east)["entrance"]["name"] == "东口"

    patch(client, facility_id, entrances=[{"kind": "pedestrian", "location": east_ramp}])
    entrance = found(client, facility_id)["entrance"]
    assert entrance["kind"] == "pedestrian"  # nothing better is left
    patch(client, facility_id, entrances=[])
    assert found(client, facility_id)["entrance"] is None


def test_use_edits_and_removal_reach_the_answer(client, place):
    facility_id = place(*EAST)
    use = client.get(uses_url(facility_id)).json()[0]
    url = f"{uses_url(facility_id)}/{use['id']}"
    response = client.patch(
        url,
        json={"fee": "免费", "attributes": {"total_spaces": 80, "height_limit_m": 1.9}},
        headers={"If-Match": "*"},
    )
    assert response.status_code == 200, response.text
    item = found(client, facility_id)
    assert item["fee"] == "免费"
    assert item["parking"]["total_spaces"] == 80
    assert found(client, facility_id, max_height=2.0) is None

    assert client.delete(url, headers={"If-Match": "*"}).status_code == 204
    assert found(client, facility_id) is None


def test_no_report_means_no_age(client, place):
    availability = found(client, place(*EAST))["availability"]
    assert availability["realtime_data_updated_at"] is None
    assert availability["age_seconds"] is None
    assert availability["stale"] is True
