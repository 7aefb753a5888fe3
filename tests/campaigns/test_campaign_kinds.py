"""Maintenance and conversion drill campaigns: their rule sets refused when wrong, their
evaluation on hand-built works, records and plans."""

from datetime import timedelta

import pytest
from sqlalchemy import text

from app.core import dates

ANY = {"If-Match": "*"}
SCOPE = {"admin_codes": ["340100"], "starts_on": "2025-01-01", "target_on": "2025-06-30"}
MAINTENANCE = {"name": "合肥市人防工程维护检查", "kind": "maintenance", **SCOPE}
DRILL = {"name": "合肥市平战转换演练", "kind": "conversion_drill", **SCOPE}


def record(
    client,
    facility_id: int,
    day: str,
    *,
    kind="inspection",
    items=("civil.structure",),
    corrects=None,
):
    body = {
        "kind": kind,
        "performed_on": day,
        "performed_by": "蜀山区人防办",
        "checks": [{"item_code": code, "result": "ok"} for code in items],
        "corrects_id": corrects,
    }
    response = client.post(f"/v1/facilities/{facility_id}/maintenance", json=body)
    assert response.status_code == 201, response.text
    return response.json()["id"]


def evaluate(client, body: dict) -> dict:
    created = client.post("/v1/campaigns", json=body)
    assert created.status_code == 201, created.text
    response = client.get(f"/v1/campaigns/{created.json()['id']}")
    assert response.status_code == 200, response.text
    return response.json()


def patch(client, facility_id: int, **fields) -> None:
    response = client.patch(f"/v1/facilities/{facility_id}", json=fields, headers=ANY)
    assert response.status_code == 200, response.text


@pytest.fixture
def hefei(connection, create):
    """Only the works the test makes count; a Wuhu work is out of scope."""
    connection.execute(text("UPDATE facility SET deleted_at = now()"))

    def make(**fields):
        return create(**fields)["id"]

    return make


def test_maintenance_from_records_before_in_and_after_the_window(client, hefei):
    inside, before, after, corrected, leaves, enters = (hefei() for _ in range(6))
    planned = hefei(status="planned")
    wuhu = hefei(
        admin_code="340200",
        address="芜湖市镜湖区",
        location={"type": "Point", "coordinates": [118.38, 31.33]},
    )
    record(client, inside, "2025-03-01")
    record(client, before, "2024-12-01")
    record(client, after, "2025-09-01")
    wrong = record(client, corrected, "2025-03-01")
    record(client, corrected, "2025-03-01", kind="repair", corrects=wrong)
    record(client, leaves, "2025-03-01")
    record(client, enters, "2025-04-01")
    record(client, wuhu, "2025-03-01")
    # Today one work is decommissioned and the planned one comes into service; at the
    # target day (as first registered, all of them later) it stood the other way round.
    patch(client, leaves, status="decommissioned")
    patch(client, planned, status="in_service")
    record(client, planned, "2025-05-01")

    body = evaluate(client, MAINTENANCE)
    assert body["campaign"]["rules"] == {
        "record_kinds": ["inspection"],
        "items": [],
        "within_days": None,
    }
    assert body["at_target"] | {"on": None} == {
        "on": None,
        "works": 6,  # inside, before, after, corrected, leaves, enters
        "complete": 3,  # inside, leaves, enters
        "ratio": 0.5,
        "late_registrations": 6,
    }
    assert (body["today"]["works"], body["today"]["complete"]) == (6, 4)
    short = {w["facility_id"]: w["missing"] for w in body["short"]}
    assert short == {
        before: [{"requirement": "record_kind", "code": "inspection", "last_on": None}],
        corrected: [{"requirement": "record_kind", "code": "inspection", "last_on": None}],
    }
    months = {m["month"]: m for m in body["timeline"]}
    assert body["timeline"][0]["month"] == "2025-01"
    assert months["2025-03"]["completed"] == 1 and months["2025-04"]["completed"] == 1
    assert months["2025-05"]["completed"] == 1
    assert months["2025-09"] == {"month": "2025-09", "completed": 1, "cumulative_completed": 4}


def test_maintenance_items_and_recency(client, hefei):
    both, stale, unchecked = hefei(), hefei(), hefei()
    record(client, both, "2025-02-01", items=("civil.structure", "civil.entrances"))
    record(client, stale, "2025-01-10", items=("civil.structure", "civil.entrances"))
    record(client, stale, "2025-06-01", items=("civil.structure",))
    record(client, unchecked, "2025-06-20", items=("civil.structure",))
    rules = {"record_kinds": ["inspection"], "items": ["civil.entrances"], "within_days": 180}
    body = evaluate(client, {**MAINTENANCE, "rules": rules})
    # At the target day 2025-06-30 the stale work's entrance check (2025-01-10) was 171
    # days old; today it is older than 180 days, as is every record here.
    assert (body["at_target"]["works"], body["at_target"]["complete"]) == (3, 2)
    assert body["today"]["complete"] == 0
    short = {w["facility_id"]: w["missing"] for w in body["short"]}
    assert short[unchecked] == [
        {"requirement": "record_kind", "code": "inspection", "last_on": "2025-06-20"},
        {"requirement": "item", "code": "civil.entrances", "last_on": None},
    ]
    assert short[stale][1] == {
        "requirement": "item",
        "code": "civil.entrances",
        "last_on": "2025-01-10",
    }
    # Each was complete from its first day with every requirement met within 180 days,
    # and no longer is: the timeline counts only the works complete today.
    assert all(m["completed"] == 0 for m in body["timeline"])


def put_plan(client, facility_id: int, tasks: list[dict]) -> None:
    response = client.put(f"/v1/facilities/{facility_id}/conversion-tasks", json=tasks)
    assert response.status_code == 200, response.text


def test_conversion_drills_from_the_plans_and_their_history(client, connection, hefei):
    drilled, partly, no_plan, late, replaced = (hefei() for _ in range(5))
    hefei(wartime_function="command_post", wartime_subtype=None)  # not a shelter work
    put_plan(
        client,
        drilled,
        [
            {"kind": "clear_vehicles", "hours": 4, "drilled_on": "2025-03-01"},
            {"kind": "install_doors", "hours": 8, "drilled_on": "2025-04-15"},
        ],
    )
    put_plan(
        client,
        partly,
        [
            {"kind": "clear_vehicles", "hours": 4, "drilled_on": "2025-03-01"},
            {"kind": "install_doors", "hours": 8, "drilled_on": "2024-11-01"},
        ],
    )
    put_plan(client, late, [{"kind": "install_doors", "hours": 8, "drilled_on": "2025-08-01"}])
    # A plan bulk-loaded (no audit row) drilled in the window, then replaced today by one
    # with a step never drilled: complete at the target day, short today.
    connection.execute(
        text(
            "INSERT INTO conversion_task (facility_id, kind, hours, drilled_on)"
            " VALUES (:id, 'install_doors', 8, DATE '2025-05-05')"
        ),
        {"id": replaced},
    )
    put_plan(
        client,
        replaced,
        [
            {"kind": "install_doors", "hours": 8, "drilled_on": "2025-05-05"},
            {"kind": "switch_power", "hours": 2},
        ],
    )
    body = evaluate(client, {**DRILL, "rules": {"steps": ["install_doors"]}})
    # At the target day the registry knew the bulk-loaded plan only: the others were
    # recorded today, and a day counts the plans as they stood, as readiness does.
    assert body["at_target"]["works"] == 5
    assert body["at_target"]["complete"] == 1  # replaced
    assert (body["today"]["works"], body["today"]["complete"]) == (5, 2)  # drilled, late
    short = {w["facility_id"]: w["missing"] for w in body["short"]}
    assert short == {
        partly: [{"step": "install_doors", "name": "", "drilled_on": "2024-11-01"}],
        no_plan: [{"step": None, "name": None, "drilled_on": None}],
        replaced: [{"step": "switch_power", "name": "", "drilled_on": None}],
    }
    months = {m["month"]: m["completed"] for m in body["timeline"]}
    assert months["2025-04"] == 1 and months["2025-08"] == 1

    # The rules ask for a step kind a plan lacks.
    body = evaluate(client, {**DRILL, "name": "疏散演练", "rules": {"steps": ["clear_vehicles"]}})
    short = {w["facility_id"]: w["missing"] for w in body["short"]}
    assert short[late] == [{"step": "clear_vehicles", "name": None, "drilled_on": None}]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"rules": {"record_kinds": []}}, "rules.record_kinds"),
        ({"rules": {"record_kinds": ["audit"]}}, "rules.record_kinds"),
        ({"rules": {"record_kinds": ["drill", "drill"]}}, "rules.record_kinds"),
        ({"rules": {"items": ["no.such.item"]}}, "rules.items"),
        ({"rules": {"within_days": 0}}, "rules.within_days"),
        ({"rules": {"steps": ["clear_vehicles"]}}, "rules.steps"),
        ({"rule_locality": "340000"}, "rule_locality"),
        ({"kind": 7}, "kind"),
    ],
)
def test_bad_rule_sets_are_named(client, change, field):
    response = client.post("/v1/campaigns", json={**MAINTENANCE, **change})
    assert response.status_code == 422, response.text
    assert field in response.text
    assert client.get("/v1/campaigns").json() == []


def test_drill_rule_sets_are_checked(client):
    response = client.post("/v1/campaigns", json={**DRILL, "rules": {"steps": ["teleport"]}})
    assert response.status_code == 422 and "rules.steps" in response.text
    tomorrow = (dates.today() + timedelta(days=1)).isoformat()  # in China, as the app's
    # A target ahead: no evaluation at it yet.
    body = evaluate(client, {**DRILL, "target_on": tomorrow})
    assert body["at_target"] is None and body["today"]["works"] >= 0


def test_records_and_plans_are_counted_for_those_who_may_read_them(client, client_for, hefei):
    inspected = hefei()
    record(client, inspected, "2025-03-01")
    campaign = client.post("/v1/campaigns", json=MAINTENANCE).json()["id"]
    url = f"/v1/campaigns/{campaign}"
    assert client_for(None).get(url).status_code == 401
    assert client_for("app").get(url).status_code == 403
    # A manager counts the works of its own scope only.
    other = client_for("manager", admin_codes=["340200"]).get(url).json()
    assert (other["today"]["works"], other["short"]) == (0, [])
    mine = client_for("manager", admin_codes=["340104"]).get(url).json()
    assert (mine["today"]["works"], mine["today"]["complete"]) == (1, 1)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"target_on": "2024-12-31"}, "body.target_on"),
        ({"rules": {"items": ["no.such.item"]}}, "body.rules.items"),
        ({"kind": "signage", "rule_locality": "340181"}, "body.rule_locality"),
        ({"admin_codes": ["349999"]}, "body.admin_codes"),
    ],
)
def test_refusals_found_in_the_database_name_the_body_field(client, change, field):
    """The checks the service makes after pydantic's name their field as pydantic does:
    from the body down, as `body.admin_codes` always did."""
    response = client.post("/v1/campaigns", json={**MAINTENANCE, **change})
    assert response.status_code == 422, response.text
    assert [e["field"] for e in response.json()["errors"]] == [field]


def test_maintenance_completion_is_the_first_day_every_requirement_is_recent(client, hefei):
    """An inspection too old by the time of the repair does not complete the work with it;
    the next inspection does. (Completion is found with a running count of the spans each
    record keeps its requirement met, not by comparing every pair of a work's records.)"""
    work = hefei()
    today = dates.today()
    for days_ago, kind in ((200, "inspection"), (80, "repair"), (20, "inspection")):
        record(client, work, (today - timedelta(days=days_ago)).isoformat(), kind=kind)
    rules = {"record_kinds": ["inspection", "repair"], "within_days": 90}
    body = evaluate(client, {**MAINTENANCE, "target_on": "2025-02-01", "rules": rules})
    assert body["today"]["complete"] == 1
    completed = [m["month"] for m in body["timeline"] if m["completed"]]
    assert completed == [(today - timedelta(days=20)).strftime("%Y-%m")]
