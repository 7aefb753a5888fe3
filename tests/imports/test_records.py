"""Imports of peacetime uses, signs and maintenance records, as district offices keep
them: Chinese headers, GBK files, workbooks with titles, the export's own sheets."""

import csv
import io

import openpyxl
import pytest
from sqlalchemy import text

from app.imports import report as reporting
from app.imports import service
from app.imports.tables import Table
from tests.imports.test_service import report, write

USES = (
    "工程编号,用途类型,名称,开放时间,联系人,联系电话,收费,属性\n"
    "{code},停车场,天鹅湖地下停车场,24/7,王建国,(0551)62881234,首小时5元,"
    '"{{""total_spaces"": 320, ""charging_piles"": 12, ""charging_max_kw"": 60}}"\n'
    "{code},纳凉点,天鹅湖纳凉点,Mo-Su 09:00-21:00,李敏,0551-62881234转8001,免费,"
    '"{{""season_start"": ""06-01"", ""season_end"": ""09-30"", ""seats"": 80}}"\n'
)
SIGNS = (
    "工程编号,标识类型,状态,说明,安装日期,检查日期\n"
    "{code},标识牌,已安装,主入口工程标识牌,2021/5/20,2024年3月1日\n"
    "{code},指引,已安装,怀宁路口指引标识,2021-06-02,\n"
    "{code},指引,计划,,,\n"
)
MAINTENANCE = (
    "工程编号,记录类型,日期,执行人,检查项目,检查结果,严重程度,发现问题\n"
    "{code},巡检,2024-04-02,蜀山区人防办 李明,标识标牌,正常,,\n"
    "{code},巡检,2024-04-02,蜀山区人防办 李明,结构渗漏与裂缝,缺陷,严重,B2层顶板渗水\n"
    "{code},维修,2024-04-20,合肥建工 张强,civil.structure,正常,,\n"
)


def run(session, path, table: Table, **options) -> service.ImportResult:
    return service.run_import(
        session, path, service.ImportOptions(table=table, **options), actor="test"
    )


def uses_of(connection, facility_id: int) -> list[tuple]:
    return [
        tuple(row)
        for row in connection.execute(
            text(
                "SELECT type, name, contact_phone, attributes, version FROM peacetime_use "
                "WHERE facility_id = :f ORDER BY id"
            ),
            {"f": facility_id},
        )
    ]


def test_uses_from_a_gbk_ledger_twice(session, connection, create, tmp_path):
    facility = create()
    path = write(tmp_path, "平时用途.csv", USES.format(code=facility["code"]), encoding="gbk")
    dry = run(session, path, Table.uses, dry_run=True)
    assert (dry.inserted, dry.committable, uses_of(connection, facility["id"])) == (2, False, [])
    result = run(session, path, Table.uses)
    assert (result.encoding, result.errors, result.inserted) == ("gb18030", 0, 2), report(
        connection
    )
    stored = uses_of(connection, facility["id"])
    assert [(t, n, p) for t, n, p, _, _ in stored] == [
        ("parking", "天鹅湖地下停车场", "(0551)62881234"),
        ("cool_spot", "天鹅湖纳凉点", "0551-62881234转8001"),
    ]
    assert stored[0][3] == {
        "total_spaces": 320,
        "accessible_spaces": 0,
        "ev_spaces": 0,
        "charging_piles": 12,
        "charging_max_kw": 60.0,
    }
    again = run(session, path, Table.uses)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 2)
    # A column the file lacks leaves the stored values alone; the row changed is updated.
    changed = "工程编号,用途类型,名称,联系电话\n{code},停车,天鹅湖地下停车场,13905510002\n"
    third = run(
        session, write(tmp_path, "u.csv", changed.format(code=facility["code"])), Table.uses
    )
    assert (third.inserted, third.updated, third.unchanged) == (0, 1, 0)
    parking = uses_of(connection, facility["id"])[0]
    assert parking[2] == "13905510002" and parking[3]["total_spaces"] == 320 and parking[4] == 2


def test_one_bad_row_and_nothing_is_written(session, connection, create, client_for, tmp_path):
    facility = create()
    content = USES.format(code=facility["code"]).replace("320", "-5") + (
        "RF-NOPE-001,健身房,健身,,,,,\n" + f"{facility['code']},茶室,茶室,,,,,\n"
    )
    path = write(tmp_path, "u.csv", content)
    result = run(session, path, Table.uses)
    assert (result.errors, result.rejected, result.committable) == (3, 3, False)
    lines = list(reporting.lines(report(connection), columns=result.columns, language="zh"))
    assert lines[0] == ("行", "列", "值", "原因")
    by_row = {line[0]: line for line in lines[1:]}
    assert by_row[2][1] == "属性" and "-5" in by_row[2][2]
    assert report(connection)[0][3] == "total_spaces: Input should be greater than or equal to 0"
    assert by_row[4] == (4, "工程编号", "RF-NOPE-001", "没有登记编号为 RF-NOPE-001 的设施")
    assert by_row[5][1:3] == ("用途类型", "茶室")
    partial = run(session, path, Table.uses, partial=True)
    assert (partial.inserted, partial.rejected) == (1, 3)
    assert [u[0] for u in uses_of(connection, facility["id"])] == ["cool_spot"]


def test_signs_with_ledger_dates_and_rules_of_the_api(session, connection, create, tmp_path):
    facility = create()
    path = write(tmp_path, "标识.csv", SIGNS.format(code=facility["code"]))
    result = run(session, path, Table.signs)
    assert (result.errors, result.inserted) == (0, 3), report(connection)
    signs = connection.execute(
        text(
            "SELECT kind, status, description, CAST(installed_on AS text), "
            "CAST(inspected_on AS text) FROM sign WHERE facility_id = :f ORDER BY id"
        ),
        {"f": facility["id"]},
    ).all()
    assert [tuple(s) for s in signs] == [
        ("identification_plaque", "installed", "主入口工程标识牌", "2021-05-20", "2024-03-01"),
        ("direction", "installed", "怀宁路口指引标识", "2021-06-02", None),
        ("direction", "planned", None, None, None),
    ]
    # The planned sign went up: the row stands for it (same kind, no description).
    done = SIGNS.format(code=facility["code"]).replace(",指引,计划,,,", ",指引,已安装,,2024-05-01,")
    again = run(session, write(tmp_path, "标识.csv", done), Table.signs)
    assert (again.inserted, again.updated, again.unchanged) == (0, 1, 2), report(connection)
    # The API's rules: an installed sign needs its date.
    bad = "工程编号,标识类型,状态\n{code},总览图,已安装\n".format(code=facility["code"])
    refused = run(session, write(tmp_path, "b.csv", bad), Table.signs)
    assert report(connection) == [(2, "installed_on", None, "is required for an installed sign")]
    assert refused.committable is False
    # Two car parks for one work: the second is the service's conflict, on its row.
    parking = '{code},停车,"{{""total_spaces"": 10}}"\n'.format(code=facility["code"])
    twice = run(
        session, write(tmp_path, "p.csv", "工程编号,用途类型,属性\n" + parking * 2), Table.uses
    )
    assert twice.errors == 1
    [(row, field, _, reason)] = report(connection)
    assert (row, field) == (3, "") and "already has a parking use" in reason, reason


def test_maintenance_records_from_a_ledger(session, connection, create, tmp_path):
    facility = create()
    path = write(tmp_path, "维护记录.csv", MAINTENANCE.format(code=facility["code"]))
    result = run(session, path, Table.maintenance)
    assert (result.errors, result.inserted) == (0, 2), report(connection)
    checks = connection.execute(
        text(
            "SELECT r.kind, CAST(r.performed_on AS text), c.item_code, c.result, c.severity "
            "FROM maintenance_record r JOIN maintenance_check c ON c.record_id = r.id "
            "WHERE r.facility_id = :f ORDER BY c.id"
        ),
        {"f": facility["id"]},
    ).all()
    assert [tuple(c) for c in checks] == [
        ("inspection", "2024-04-02", "civil.signage", "ok", "none"),
        ("inspection", "2024-04-02", "civil.structure", "defect", "serious"),
        ("repair", "2024-04-20", "civil.structure", "ok", "none"),
    ]
    again = run(session, path, Table.maintenance)
    assert (again.inserted, again.unchanged) == (0, 2)
    bad = MAINTENANCE.format(code=facility["code"]).replace(
        "标识标牌,正常,,", "标识标牌,正常,严重,"
    )
    bad = bad.replace("2024-04-20", "2099-04-20")
    refused = run(session, write(tmp_path, "bad.csv", bad), Table.maintenance)
    assert refused.committable is False
    assert report(connection) == [
        (2, "severity", "严重", "an ok result has no finding"),
        (4, "performed_on", "2099-04-20", "lies in the future"),
    ]


def provincial_workbook(path, sheet: str, content: str):
    book = openpyxl.Workbook()
    table = book.active
    table.title = sheet
    table.append(["蜀山区人防工程平时用途台账"])
    table.append(["填报日期：2024年5月10日"])
    for line in csv.reader(io.StringIO(content)):
        table.append(line)
    book.save(path)
    return path


def test_a_workbook_with_title_rows(session, connection, create, tmp_path):
    facility = create()
    path = provincial_workbook(tmp_path / "台账.xlsx", "用途", USES.format(code=facility["code"]))
    result = run(session, path, Table.uses)
    assert (result.errors, result.inserted) == (0, 2), report(connection)
    path = provincial_workbook(
        tmp_path / "维护.xlsx", "维护", MAINTENANCE.format(code=facility["code"])
    )
    result = run(session, path, Table.maintenance)
    assert (result.errors, result.inserted) == (0, 2), report(connection)


def test_export_import_export_of_uses_and_signs(client, session, connection, create, tmp_path):
    facility = create()
    run(session, write(tmp_path, "u.csv", USES.format(code=facility["code"])), Table.uses)
    run(session, write(tmp_path, "s.csv", SIGNS.format(code=facility["code"])), Table.signs)
    first = tmp_path / "first.xlsx"
    first.write_bytes(client.get("/v1/export", params={"format": "xlsx"}).content)
    assert (
        run(session, first, Table.uses).unchanged,
        run(session, first, Table.signs).unchanged,
    ) == (2, 3)
    connection.execute(text("DELETE FROM peacetime_use; DELETE FROM sign"))
    uses = run(session, first, Table.uses)
    signs = run(session, first, Table.signs)
    assert (uses.inserted, signs.inserted, uses.errors + signs.errors) == (2, 3, 0), report(
        connection
    )
    second = tmp_path / "second.xlsx"
    second.write_bytes(client.get("/v1/export", params={"format": "xlsx"}).content)
    for sheet in ("平时用途", "标识"):
        assert sheet_values(first, sheet) == sheet_values(second, sheet)
        assert len(sheet_values(first, sheet)) > 1


def test_attributes_stored_without_their_defaults_import_back_unchanged(
    client, session, connection, create, tmp_path
):
    """As the demo load and uses written before an attribute existed store them: the
    model's defaults (wifi: false) absent. The export, imported back, changes nothing, so
    the next export is the same."""
    facility = create()
    run(session, write(tmp_path, "u.csv", USES.format(code=facility["code"])), Table.uses)
    connection.execute(
        text(
            "UPDATE peacetime_use SET attributes = attributes - 'wifi' - 'toilets' WHERE facility_id = :f"
        ),
        {"f": facility["id"]},
    )
    before = uses_of(connection, facility["id"])
    first = tmp_path / "first.xlsx"
    params = {"format": "xlsx", "code": facility["code"]}
    first.write_bytes(client.get("/v1/export", params=params).content)
    result = run(session, first, Table.uses)
    assert (result.unchanged, result.updated, result.errors) == (2, 0, 0), report(connection)
    assert uses_of(connection, facility["id"]) == before
    second = tmp_path / "second.xlsx"
    second.write_bytes(client.get("/v1/export", params=params).content)
    assert sheet_values(first, "平时用途") == sheet_values(second, "平时用途")


def test_a_restricted_work_outside_the_scope_is_as_missing_as_none(client_for, create):
    """As GET /v1/facilities/by-code answers it (404): the report does not tell another
    division's command post from a code nobody holds."""
    post = create(
        admin_code="340200",
        address="芜湖市镜湖区中山路1号",
        location={"type": "Point", "coordinates": [118.38, 31.33]},
        wartime_function="command_post",
        wartime_subtype=None,
    )
    hefei = client_for("manager", admin_codes=["340100"])
    assert hefei.get(f"/v1/facilities/by-code/{post['code']}").status_code == 404
    body = USES.format(code=post["code"]).split("\n")[:2] + [""]
    body[1] += "\n" + body[1].replace(post["code"], "RF-NOBODY-1")
    created = hefei.post(
        "/v1/imports", params={"filename": "u.csv", "table": "uses"}, content="\n".join(body)
    )
    job = hefei.get(f"/v1/imports/{created.json()['id']}").json()
    lines = list(csv.reader(io.StringIO(hefei.get(f"/v1/imports/{job['id']}/errors").text)))
    assert [line[3] for line in lines[1:]] == [
        f"no facility has the registry code {post['code']}",
        "no facility has the registry code RF-NOBODY-1",
    ]


def sheet_values(path, sheet: str) -> list[tuple]:
    book = openpyxl.load_workbook(path, read_only=True)
    try:
        return list(book[sheet].iter_rows(values_only=True))
    finally:
        book.close()


@pytest.mark.parametrize("table", ["uses", "signs", "maintenance"])
def test_managers_import_within_their_scope_over_http(client_for, create, table):
    hefei_work = create()
    wuhu_work = create(
        admin_code="340200",
        address="芜湖市镜湖区中山路1号",
        location={"type": "Point", "coordinates": [118.38, 31.33]},
    )
    content = {"uses": USES, "signs": SIGNS, "maintenance": MAINTENANCE}[table]
    body = (
        content.format(code=hefei_work["code"])
        + content.format(code=wuhu_work["code"]).split("\n", 1)[1]
    )
    manager = client_for("manager", admin_codes=["340100"])
    created = manager.post(
        "/v1/imports", params={"filename": "f.csv", "table": table}, content=body.encode("gbk")
    )
    assert created.status_code == 202, created.text
    job = manager.get(f"/v1/imports/{created.json()['id']}").json()
    assert job["status"] == "rejected" and job["summary"]["table"] == table, job
    lines = list(csv.reader(io.StringIO(manager.get(f"/v1/imports/{job['id']}/errors").text)))
    wuhu_rows = {line[0] for line in lines[1:]}
    assert all(
        line[1:] == ["工程编号", wuhu_work["code"], "lies outside this key's scope"]
        for line in lines[1:]
    )
    assert len(wuhu_rows) == content.count("\n") - 1
    assert manager.get(f"/v1/facilities/{hefei_work['id']}/uses").json() == []
    mine = content.format(code=hefei_work["code"])
    accepted = manager.post(
        "/v1/imports", params={"filename": "f.csv", "table": table}, content=mine.encode()
    )
    job = manager.get(f"/v1/imports/{accepted.json()['id']}").json()
    assert job["status"] == "succeeded" and job["summary"]["inserted"] >= 2, job


def test_a_mapping_names_the_table_s_own_fields(client, create):
    facility = create()
    content = "登记号,类别,用途名\n{code},仓库,天鹅湖仓储\n".format(code=facility["code"])
    mapping = '{"登记号": "code", "类别": "type", "用途名": "name"}'
    created = client.post(
        "/v1/imports",
        params={"filename": "u.csv", "table": "uses", "mapping": mapping},
        content=content.encode(),
    )
    job = client.get(f"/v1/imports/{created.json()['id']}").json()
    assert job["status"] == "succeeded", job
    assert job["options"]["table"] == "uses"
    assert client.get(f"/v1/facilities/{facility['id']}/uses").json()[0]["name"] == "天鹅湖仓储"
    wrong = client.post(
        "/v1/imports",
        params={"filename": "u.csv", "table": "uses", "mapping": '{"地址": "address"}'},
        content=content.encode(),
    )
    assert wrong.status_code == 400
    assert "'address', which is not a field" in wrong.json()["detail"]
