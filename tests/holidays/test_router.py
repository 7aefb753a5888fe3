from datetime import date

from sqlalchemy import text

from app.holidays import service
from app.holidays.calendar import DayKind


def test_a_year_lists_its_holidays_and_make_up_days(public_client):
    response = public_client.get("/v1/calendar", params={"year": 2025})
    assert response.status_code == 200, response.text
    days = {d["day"]: d for d in response.json()}
    assert days["2025-10-08"] == {
        "day": "2025-10-08",
        "kind": "holiday",
        "name": "National Day",
        "source": "state_council",
    }
    assert days["2025-10-11"]["kind"] == "makeup"
    assert "2025-10-12" not in days and "2025-10-09" not in days


def test_admins_declare_local_days(client, public_client, session):
    # Next year's days before a package release, or a city's own holiday.
    url = "/v1/calendar/2099-10-01"
    response = client.put(url, json={"kind": "holiday", "name": "国庆节"})
    assert response.status_code == 201, response.text
    assert client.put(url, json={"kind": "holiday", "name": "国庆节（第一天）"}).status_code == 200
    client.put("/v1/calendar/2099-10-10", json={"kind": "workday", "name": "国庆调休"})
    days = {d["day"]: d for d in public_client.get("/v1/calendar?year=2099").json()}
    assert days["2099-10-01"] == {
        "day": "2099-10-01",
        "kind": "holiday",
        "name": "国庆节（第一天）",
        "source": "local",
    }
    assert days["2099-10-10"]["kind"] == "makeup"  # a Saturday
    assert service.day_kind(session, date(2099, 10, 1)) == DayKind.holiday
    assert client.delete(url).status_code == 204
    assert service.day_kind(session, date(2099, 10, 1)) == DayKind.workday
    assert client.delete(url).status_code == 404


def test_declaring_replacing_and_removing_a_day_are_audited_with_both_states(client, session):
    url = "/v1/calendar/2099-10-02"
    client.put(url, json={"kind": "holiday", "name": "国庆节"})
    client.put(url, json={"kind": "workday", "name": "国庆节"})
    client.delete(url)
    rows = session.execute(
        text(
            "SELECT action, changes, before, after FROM audit_event"
            " WHERE entity = 'calendar_day' AND entity_id = '2099-10-02' ORDER BY id"
        )
    ).all()
    holiday = {"kind": "holiday", "name": "国庆节"}
    workday = {"kind": "workday", "name": "国庆节"}
    assert [tuple(row) for row in rows] == [
        (
            "create",
            {"kind": {"old": None, "new": "holiday"}, "name": {"old": None, "new": "国庆节"}},
            None,
            holiday,
        ),
        ("update", {"kind": {"old": "holiday", "new": "workday"}}, holiday, workday),
        (
            "delete",
            {"kind": {"old": "workday", "new": None}, "name": {"old": "国庆节", "new": None}},
            workday,
            None,
        ),
    ]


def test_only_admins_declare_and_bad_days_are_named(client, client_for, public_client):
    body = {"kind": "holiday", "name": "x"}
    assert public_client.put("/v1/calendar/2099-10-01", json=body).status_code == 401
    assert (
        client_for("manager", admin_codes=["340100"])
        .put("/v1/calendar/2099-10-01", json=body)
        .status_code
        == 403
    )
    for day, sent, field in [
        ("2099-02-30", body, "day"),
        ("1800-01-01", body, "day"),
        ("2099-10-01", {"kind": "feast", "name": "x"}, "kind"),
        ("2099-10-01", {"kind": "holiday", "name": ""}, "name"),
        ("2099-10-01", {"kind": "holiday", "name": "x", "extra": 1}, "extra"),
    ]:
        response = client.put(f"/v1/calendar/{day}", json=sent)
        assert response.status_code == 422, (day, sent)
        assert field in response.json()["detail"]
    assert public_client.get("/v1/calendar?year=3000").status_code == 422
