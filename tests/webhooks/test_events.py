"""What the domains announce: findings, reports and alerts as they are written, overdue
maintenance and stale parking feeds by the worker's sweep, each episode once."""

import json
import time
from datetime import UTC, date, datetime, timedelta
from functools import partial

import pytest
from sqlalchemy import text

from app.core.dates import SHANGHAI
from app.maintenance import notices
from app.maintenance.notices import sweep_overdue
from app.parking.notices import sweep_stale
from app.webhooks import worker
from tests.alerts.cap_samples import message, reference
from tests.parking.test_occupancy import report as occupancy
from tests.uses.test_router import PARKING, uses_url
from tests.webhooks.test_webhooks import run, subscribe

XML = {"Content-Type": "application/xml"}


@pytest.fixture
def manager(client_for):
    return client_for("manager", admin_codes=["340104"])


def received(receiver) -> list[dict]:
    return [json.loads(r.body) for r in receiver.requests]


def sweep(app, *sweeps, now: datetime | None = None) -> int:
    return worker.sweep(
        app.state.sessionmaker, app.state.settings, sweeps, now=now or datetime.now(UTC)
    )


def test_a_finding_is_announced(create, manager, client, receiver, app, http):
    facility = create()
    subscribe(manager, receiver, events=["maintenance.finding"])
    checks = [
        {"item_code": "civil.structure", "result": "ok"},
        {
            "item_code": "ventilation.fans",
            "result": "defect",
            "severity": "serious",
            "finding": "风机无法启动",
        },
    ]
    body = {
        "kind": "inspection",
        "performed_on": "2026-11-30",
        "performed_by": "维护班组 张伟",
        "checks": checks,
    }
    url = f"/v1/facilities/{facility['id']}/maintenance"
    record = client.post(url, json=body)
    assert record.status_code == 201, record.text
    ok_only = {**body, "checks": checks[:1]}
    assert client.post(url, json=ok_only).status_code == 201  # no finding: not announced
    run(app, http)
    [event] = received(receiver)
    assert event["type"] == "maintenance.finding"
    assert event["data"]["record_id"] == record.json()["id"]
    assert [(f["item_code"], f["severity"], f["finding"]) for f in event["data"]["findings"]] == [
        ("ventilation.fans", "serious", "风机无法启动")
    ]


def _fall_due(connection, facility_id: int, item: str, overdue_since: date) -> None:
    """An inspection of `item` one interval before the day before `overdue_since`."""
    connection.execute(
        text(
            """
WITH r AS (
    INSERT INTO maintenance_record (facility_id, kind, performed_on, performed_by)
    SELECT :facility, 'inspection',
        (CAST(:since AS date) - 1 - make_interval(months => i.interval_months))::date, 'test'
    FROM maintenance_item i WHERE i.code = :item
    RETURNING id
)
INSERT INTO maintenance_check (record_id, item_code, result, severity)
SELECT id, :item, 'ok', 'none' FROM r
"""
        ),
        {"facility": facility_id, "since": overdue_since, "item": item},
    )


def test_maintenance_falling_overdue_is_announced_once(
    create, manager, receiver, app, http, connection
):
    facility = create()
    today = datetime.now(SHANGHAI).date()
    _fall_due(connection, facility["id"], "protective.blast_doors", today)
    _fall_due(connection, facility["id"], "ventilation.fans", today - timedelta(days=30))
    assert sweep(app, sweep_overdue) == 0  # no one listens: nothing done
    assert connection.scalar(text("SELECT count(*) FROM webhook_episode")) == 0
    subscribe(manager, receiver, events=["maintenance.overdue"])
    assert sweep(app, sweep_overdue) == 1  # the fans were overdue long before
    assert sweep(app, sweep_overdue) == 0
    run(app, http)
    [event] = received(receiver)
    assert event["type"] == "maintenance.overdue"
    assert event["data"] == {
        "facility_id": facility["id"],
        "code": facility["code"],
        "name": facility["name"],
        "admin_code": "340104",
        "item_code": "protective.blast_doors",
        "discipline": "protective_equipment",
        "last_done_on": event["data"]["last_done_on"],
        "overdue_since": today.isoformat(),
    }
    assert event["data"]["last_done_on"] < today.isoformat()


def test_the_overdue_sweep_counts_chinas_days(
    create, manager, receiver, app, connection, monkeypatch
):
    # 20:00 UTC on 30 June is 04:00 on 1 July in China: an item due on 30 June is
    # overdue there, whatever the host's zone says the date is.
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    try:
        facility = create()
        _fall_due(connection, facility["id"], "protective.blast_doors", date(2026, 7, 1))
        subscribe(manager, receiver, events=["maintenance.overdue"])
        assert sweep(app, sweep_overdue, now=datetime(2026, 6, 30, 20, tzinfo=UTC)) == 1
    finally:
        monkeypatch.undo()
        time.tzset()


def test_the_overdue_sweep_reads_every_page(
    create, manager, receiver, app, connection, monkeypatch
):
    monkeypatch.setattr(notices, "PAGE", 1)
    facility = create()
    for item in ("protective.blast_doors", "ventilation.fans"):
        _fall_due(connection, facility["id"], item, datetime.now(SHANGHAI).date())
    subscribe(manager, receiver, events=["maintenance.overdue"])
    assert sweep(app, sweep_overdue) == 2


def test_a_parking_feed_gone_stale_is_announced_once_per_silence(
    create, manager, client, receiver, app, http
):
    facility = create()
    assert client.post(uses_url(facility["id"]), json=PARKING).status_code == 201
    url = f"/v1/facilities/{facility['id']}/parking/occupancy"
    push = client.put(url, json=occupancy(50, ago=timedelta(minutes=20)))
    assert push.status_code == 200, push.text
    subscribe(manager, receiver, events=["occupancy.stale"])
    stale = partial(sweep_stale, stale_after_s=app.state.settings.occupancy_stale_after_s)
    assert sweep(app, stale) == 1
    assert sweep(app, stale) == 0
    assert client.put(url, json=occupancy(40, ago=timedelta(minutes=1))).status_code == 200
    assert sweep(app, stale) == 0  # fresh again
    assert sweep(app, stale, now=datetime.now(UTC) + timedelta(minutes=20)) == 1  # silent again
    run(app, http)
    events = received(receiver)
    assert [e["type"] for e in events] == ["occupancy.stale"] * 2
    assert {e["data"]["facility_id"] for e in events} == {facility["id"]}


def test_alerts_are_announced_to_their_subscribers(client_for, manager, receiver, app, http):
    authority = client_for("alert_authority")
    subscribe(manager, receiver, events=["alert.received", "alert.cancelled"])
    sent = datetime.now(UTC) - timedelta(minutes=5)
    first = message("webhook-alert-1", sent=sent)
    assert authority.post("/v1/alerts", content=first, headers=XML).status_code == 201
    cancel = message(
        "webhook-alert-2", msg_type="Cancel", references=reference("webhook-alert-1", sent)
    )
    response = authority.post("/v1/alerts", content=cancel, headers=XML)
    assert response.status_code == 201, response.text
    run(app, http)
    events = received(receiver)
    assert [e["type"] for e in events] == ["alert.received", "alert.cancelled"]
    assert events[0]["data"]["identifier"] == "webhook-alert-1"
    assert events[1]["data"]["ended"] == [events[0]["data"]["id"]]
