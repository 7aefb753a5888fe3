"""Readiness as of a past day: each work with the status and the conversion plan it had
then, from the audit trail."""

from datetime import date, timedelta

import pytest
from sqlalchemy import text

from tests.shelters.test_readiness import LONG_AGO, RECENT, plan_url, put_plan, readiness

ANY = {"If-Match": "*"}
YESTERDAY = (date.today() - timedelta(days=1)).isoformat()


@pytest.fixture
def shushan(client, create, connection):
    """Shushan shelter works only: one whose bulk-loaded plan (no audit row, as an import
    leaves it: 60 hours, drilled long ago) was replaced today by a 6-hour drilled one; one
    given its first plan today; one suspended today."""
    connection.execute(text("UPDATE facility SET deleted_at = now()"))
    replaced, first, suspended = (
        create(admin_code="340104", capacity_persons=c, shelter_area=c, conversion_hours=None)["id"]
        for c in (800, 500, 300)
    )
    connection.execute(
        text(
            "INSERT INTO conversion_task (facility_id, kind, hours, drilled_on)"
            " VALUES (:id, 'install_doors', 60, :drilled)"
        ),
        {"id": replaced, "drilled": date.fromisoformat(LONG_AGO)},
    )
    put_plan(client, replaced, [{"kind": "clear_vehicles", "hours": 6, "drilled_on": RECENT}])
    put_plan(client, first, [{"kind": "clear_vehicles", "hours": 2, "drilled_on": RECENT}])
    put_plan(client, suspended, [{"kind": "clear_vehicles", "hours": 2}])
    response = client.patch(
        f"/v1/facilities/{suspended}", json={"status": "suspended"}, headers=ANY
    )
    assert response.status_code == 200, response.text
    return replaced, first, suspended


def test_a_past_day_counts_the_plans_and_status_of_that_day(client, shushan):
    replaced, first, suspended = shushan
    today = readiness(client, admin_code="340100", within_hours=48)
    [district] = today["divisions"]
    assert district["shelters"] == 2 and district["ready"]["capacity"] == 1300
    assert today["as_of"] is None and today["late_registrations"] is None

    then = readiness(client, admin_code="340100", within_hours=48, as_of=YESTERDAY)
    [district] = then["divisions"]
    assert (then["as_of"], then["late_registrations"]) == (YESTERDAY, 3)
    # Yesterday: the old 60-hour plan, no plan at all, and the third one still in service.
    assert district["shelters"] == 3
    assert district["too_slow"] == {"shelters": 1, "capacity": 800}
    assert district["blocking_steps"] == [{"kind": "install_doors", "shelters": 1, "capacity": 800}]
    assert district["no_plan"] == {"shelters": 2, "capacity": 800}
    overdue = {w["facility_id"]: w["last_drill"] for w in then["drill_overdue"]["works"]}
    assert overdue == {replaced: LONG_AGO, first: None, suspended: None}
    assert (
        then["drill_overdue"]["before"]
        == (date.fromisoformat(YESTERDAY) - timedelta(days=365)).isoformat()
    )


def test_the_trail_keeps_each_plan_replacement(client, connection, shushan):
    replaced = shushan[0]
    before, after = connection.execute(
        text(
            "SELECT before, after FROM audit_event WHERE entity = 'conversion_plan'"
            " AND facility_id = :id"
        ),
        {"id": replaced},
    ).one()
    assert [(t["kind"], t["drilled_on"]) for t in before["tasks"]] == [("install_doors", LONG_AGO)]
    assert [t["kind"] for t in after["tasks"]] == ["clear_vehicles"]
    assert client.get(plan_url(replaced)).json()["total_hours"] == 6


def test_a_day_before_the_registry_or_in_the_future_is_named(client):
    for day in ("1800-01-01", (date.today() + timedelta(days=2)).isoformat()):
        response = client.get("/v1/readiness", params={"within_hours": 24, "as_of": day})
        assert response.status_code == 422, response.text
        assert "as_of" in response.text


@pytest.mark.parametrize("as_of", ["1899-12-31", (date.today() + timedelta(days=2)).isoformat()])
def test_a_refused_as_of_is_named_one_way(client, as_of):
    """Too early (the date range) or in the future (the audit trail's end): query.as_of."""
    response = client.get("/v1/readiness", params={"within_hours": 48, "as_of": as_of})
    assert response.status_code == 422, response.text
    assert [e["field"] for e in response.json()["errors"]] == ["query.as_of"]
