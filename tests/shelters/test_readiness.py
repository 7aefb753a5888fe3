"""Conversion plans and GET /v1/readiness."""

from datetime import date, timedelta

import pytest

from tests.nearby.conftest import point


def plan_url(facility_id: int) -> str:
    return f"/v1/facilities/{facility_id}/conversion-tasks"


RECENT = (date.today() - timedelta(days=30)).isoformat()
LONG_AGO = (date.today() - timedelta(days=400)).isoformat()


def put_plan(client, facility_id, tasks):
    response = client.put(plan_url(facility_id), json=tasks)
    assert response.status_code == 200, response.text
    return response.json()


def test_a_plan_is_replaced_whole_and_read_back(client, create):
    facility = create()["id"]
    put_plan(client, facility, [{"kind": "other", "hours": 5}])
    plan = put_plan(
        client,
        facility,
        [
            {"kind": "clear_vehicles", "hours": 4, "drilled_on": RECENT},
            {"kind": "install_doors", "hours": 12.5},
        ],
    )
    assert [t["kind"] for t in plan["tasks"]] == ["clear_vehicles", "install_doors"]
    assert plan["total_hours"] == 16.5
    assert client.get(plan_url(facility)).json() == plan


@pytest.mark.parametrize(
    ("tasks", "says"),
    [
        ([{"kind": "other", "hours": 0}], "hours"),
        ([{"kind": "other", "hours": 9000}], "hours"),
        ([{"kind": "teleport", "hours": 1}], "kind"),
        ([{"kind": "other", "hours": 1}, {"kind": "other", "hours": 2}], "listed twice"),
        (
            [
                {
                    "kind": "other",
                    "hours": 1,
                    "drilled_on": (date.today() + timedelta(days=2)).isoformat(),
                }
            ],
            "future",
        ),
    ],
)
def test_a_bad_plan_changes_nothing(client, create, tasks, says):
    facility = create()["id"]
    put_plan(client, facility, [{"kind": "clear_vehicles", "hours": 3}])
    response = client.put(plan_url(facility), json=tasks)
    assert response.status_code == 422, response.text
    assert says in response.text
    assert [t["kind"] for t in client.get(plan_url(facility)).json()["tasks"]] == ["clear_vehicles"]


def test_plans_are_for_staff(client_for, create):
    facility = create()["id"]
    assert client_for(None).get(plan_url(facility)).status_code == 401
    assert client_for("app").put(plan_url(facility), json=[]).status_code == 403


def readiness(client, **params):
    response = client.get("/v1/readiness", params=params)
    assert response.status_code == 200, response.text
    return response.json()


def test_readiness_per_district(client, create):
    # Shushan (340104) and Baohe (340111), Hefei (340100).
    quick = create(admin_code="340104", capacity_persons=800, shelter_area=800)["id"]
    slow = create(admin_code="340104", capacity_persons=500, shelter_area=500)["id"]
    stated = create(
        admin_code="340104", capacity_persons=300, shelter_area=300, conversion_hours=24
    )["id"]
    unknown = create(
        admin_code="340111",
        location=point(117.28, 31.79),
        capacity_persons=200,
        shelter_area=200,
        conversion_hours=None,
    )["id"]
    put_plan(client, quick, [{"kind": "clear_vehicles", "hours": 6, "drilled_on": RECENT}])
    put_plan(
        client,
        slow,
        [
            {"kind": "clear_vehicles", "hours": 6, "drilled_on": LONG_AGO},
            {"kind": "install_doors", "hours": 60, "drilled_on": LONG_AGO},
        ],
    )
    answer = readiness(client, admin_code="340100", within_hours=48)
    districts = {d["admin_code"]: d for d in answer["divisions"]}
    shushan, baohe = districts["340104"], districts["340111"]
    assert shushan["ready"]["capacity"] >= 800 + 300
    mine = {quick, slow, stated, unknown}
    assert shushan["too_slow"]["capacity"] >= 500
    assert {"kind": "install_doors", "shelters": 1, "capacity": 500} in shushan["blocking_steps"]
    assert baohe["no_plan"] == {"shelters": 1, "capacity": 200}
    overdue = {
        w["facility_id"]: w for w in answer["drill_overdue"]["works"] if w["facility_id"] in mine
    }
    assert overdue[slow]["last_drill"] == LONG_AGO
    assert overdue[unknown]["last_drill"] is None
    assert quick not in overdue
    # Within 72 hours the slow one converts too.
    later = {
        d["admin_code"]: d
        for d in readiness(client, admin_code="340100", within_hours=72)["divisions"]
    }
    assert later["340104"]["too_slow"]["capacity"] == shushan["too_slow"]["capacity"] - 500


def test_readiness_is_for_restricted_readers(client_for):
    assert client_for(None).get("/v1/readiness", params={"within_hours": 24}).status_code == 401
    assert client_for("app").get("/v1/readiness", params={"within_hours": 24}).status_code == 403


@pytest.mark.parametrize(
    "params",
    [{"within_hours": 0}, {"within_hours": 9000}, {}, {"within_hours": 1, "admin_code": "12"}],
)
def test_readiness_bounds(client, params):
    assert client.get("/v1/readiness", params=params).status_code == 422


def test_an_unknown_division_is_named(client):
    response = client.get("/v1/readiness", params={"within_hours": 1, "admin_code": "999999"})
    assert response.status_code == 422
    assert "999999" in response.json()["detail"]
