"""Values as real provincial ledgers write them, and the error report as their keepers
read it: their own column headers, reasons in their language."""

import pytest
from sqlalchemy import text

from app.imports import report as reporting
from tests.imports.test_service import report, run, write

HEADER = "工程编号,工程名称,地址,行政区划代码,经度,纬度,建设形式,战时功能,使用状态,防护等级\n"
ROW = "{code},蜀山人防工程,合肥市蜀山区怀宁路1号,340104,117.2281,31.8262,结建,人员掩蔽工程,在用,{protection}\n"


def levels(connection, code: str) -> tuple:
    return connection.execute(
        text("SELECT nuclear_level, conventional_level FROM facility WHERE code = :c"),
        {"c": code},
    ).one()


@pytest.mark.parametrize(
    ("protection", "nuclear", "conventional"),
    [
        ("核6常6", "6", "6"),
        ("核6/常6", "6", "6"),
        ("核5级 常6级", "5", "6"),
        ("核6B/常5", "6B", "5"),
        ("常6/核5", "5", "6"),
        ("乙类 常5", None, "5"),  # class B works have no nuclear level
        ("甲类核6级", "6", None),
        ("常6", None, "6"),
    ],
)
def test_protection_classes_as_ledgers_write_them(
    connection, tmp_path, protection, nuclear, conventional
):
    path = write(tmp_path, "f.csv", HEADER + ROW.format(code="RF-PROT-001", protection=protection))
    result = run(connection, path)
    assert (result.errors, result.inserted) == (0, 1), report(connection)
    assert tuple(levels(connection, "RF-PROT-001")) == (nuclear, conventional)


@pytest.mark.parametrize(
    ("protection", "reason"),
    [
        ("核7/常6", "核7 is not a nuclear protection level: 4, 4B, 5, 6 or 6B"),
        ("核6/常4", "常4 is not a conventional weapon protection level: 5 or 6"),
        ("乙类 核6 常5", "a class B (乙类) work has no nuclear protection level"),
        ("甲类", "names no protection level: write e.g. 核6/常6 or 常6"),
        ("六级", "is not a protection class: write e.g. 核6/常6, 核6常6, 乙类 常5 or 甲类核6级"),
        (
            "核6/常6 加强",
            "is not a protection class: write e.g. 核6/常6, 核6常6, 乙类 常5 or 甲类核6级",
        ),
    ],
)
def test_a_protection_class_the_importer_cannot_read_is_an_error_naming_it(
    connection, tmp_path, protection, reason
):
    path = write(tmp_path, "f.csv", HEADER + ROW.format(code="RF-PROT-002", protection=protection))
    result = run(connection, path)
    assert (result.errors, result.inserted) == (1, 0)
    assert report(connection) == [(2, "protection", protection, reason)]


def test_the_report_names_the_files_headers_in_the_chosen_language(connection, tmp_path):
    content = HEADER.replace("\n", ",掩蔽面积\n") + ROW.format(
        code="RF-REP-001", protection="核7/常6"
    ).replace("\n", ",很多\n")
    content += (
        ROW.format(code="RF-REP-002", protection="核6/常6")
        .replace("117.2281", "2.35")
        .replace("31.8262", "48.85")
        .replace("\n", ",800\n")
    )
    result = run(connection, write(tmp_path, "台账.csv", content))
    assert result.errors == 3
    lines = list(reporting.lines(report(connection), columns=result.columns, language="zh"))
    assert lines[0] == ("行", "列", "值", "原因")
    assert set(lines[1:]) == {
        (2, "防护等级", "核7/常6", "核7 不是核防护等级：应为 4、4B、5、6 或 6B"),
        (2, "掩蔽面积", "很多", "不是数字"),
        (3, "经度/纬度", "2.35, 48.85", "位置 [2.35, 48.85] 在中国境外"),
    }
    english = list(reporting.lines(report(connection), columns=result.columns, language="en"))
    assert english[0] == ("row", "field", "value", "reason")
    assert (2, "掩蔽面积", "很多", "is not a number") in english


PHONES = ["(0551)62881234", "（0551）62881234", "0551-62881234转8001", "13905510001"]


@pytest.mark.parametrize("phone", PHONES)
def test_phone_numbers_as_ledgers_write_them(connection, tmp_path, client, payload, phone):
    content = HEADER.replace("\n", ",值班电话\n") + ROW.format(
        code="RF-TEL-001", protection="核6/常6"
    ).replace("\n", f",{phone}\n")
    result = run(connection, write(tmp_path, "f.csv", content))
    assert (result.errors, result.inserted) == (0, 1), report(connection)
    stored = connection.execute(
        text("SELECT keyholder_phone FROM facility WHERE code = 'RF-TEL-001'")
    ).scalar_one()
    assert stored == phone
    response = client.post("/v1/facilities", json=payload(code="RF-TEL-002", keyholder_phone=phone))
    assert response.status_code == 201, response.text


def test_a_phone_number_no_ledger_writes_is_refused(connection, tmp_path):
    content = HEADER.replace("\n", ",值班电话\n") + ROW.format(
        code="RF-TEL-003", protection="核6/常6"
    ).replace("\n", ",0551-6288转\n")
    result = run(connection, write(tmp_path, "f.csv", content))
    assert result.errors == 1
    assert report(connection) == [(2, "keyholder_phone", "0551-6288转", "is not a phone number")]


def provincial_workbook(path, *, blank_before_header: bool = False):
    """As offices keep them: a merged title, the date of the return, then the table."""
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "台账"
    sheet.append(["合肥市人防工程登记台账"])
    sheet.merge_cells("A1:J1")
    sheet.append(["填报单位：合肥市国防动员办公室", None, None, None, "填报日期：2024年5月10日"])
    if blank_before_header:
        sheet.append([])
    sheet.append(HEADER.strip().split(","))
    for code, protection in (("肥人防-2019-012", "核6常6"), ("肥人防-2019-013", "乙类 常5")):
        sheet.append(ROW.format(code=code, protection=protection).strip().split(","))
    sheet.append([])
    sheet.append(
        ["RF-XLSX-BAD", "蜀山人防工程", "地址", "340104", "东经117", "31.8", "结建", "人员掩蔽工程"]
        + ["在用", "核6/常6"]
    )
    book.save(path)
    return path


def test_the_header_is_found_below_title_rows(connection, tmp_path, hefei_code_form):
    path = provincial_workbook(tmp_path / "台账.xlsx", blank_before_header=True)
    result = run(connection, path)
    # Rows are the spreadsheet's: the header is row 4, the bad row is row 8.
    assert report(connection) == [(8, "lon", "东经117", "is not a number")]
    partial = run(connection, path, partial=True)
    assert (partial.inserted, partial.rejected) == (2, 1)
    assert result.columns["工程编号"] == "code"
    assert tuple(levels(connection, "肥人防-2019-013")) == (None, "5")


def test_a_header_row_given_is_taken(connection, tmp_path, hefei_code_form):
    path = provincial_workbook(tmp_path / "台账.xlsx")
    result = run(connection, path, header_row=3, partial=True)
    assert (result.inserted, result.rejected) == (2, 1), report(connection)
    wrong = run(connection, path, header_row=2)
    assert wrong.problem is not None and "missing required column" in wrong.problem
    empty = run(connection, path, header_row=400)
    assert empty.problem == "台账.xlsx: row 400 of '台账' is empty"


def test_a_header_row_is_for_workbooks_only(connection, tmp_path):
    path = write(tmp_path, "f.csv", HEADER + ROW.format(code="RF-HR-001", protection="核6/常6"))
    result = run(connection, path, header_row=1)
    assert result.problem == "f.csv: a header row is chosen only in XLSX workbooks"


def test_a_sheet_claiming_16384_columns_is_read_only_as_wide_as_its_header(
    connection, tmp_path, monkeypatch
):
    """A few kilobytes may claim a sheet of 16,384 columns and a million rows (one cell in
    its far corner): the rows between are read as wide as the header, not as the claim."""
    import openpyxl
    from openpyxl.worksheet._read_only import ReadOnlyWorksheet

    path = tmp_path / "台账.xlsx"
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(HEADER.strip().split(","))
    sheet.append(ROW.format(code="RF-WIDE-001", protection="核6/常6").strip().split(","))
    sheet.cell(row=1_048_576, column=16_384, value="x")
    book.save(path)
    assert path.stat().st_size < 10_000
    widths: list[int] = []
    cells_by_row = ReadOnlyWorksheet._cells_by_row

    def counted(self, *args, **kwargs):
        for row in cells_by_row(self, *args, **kwargs):
            widths.append(len(row))
            assert len(row) <= 1000, "a row read as wide as the sheet claims"
            yield row

    monkeypatch.setattr(ReadOnlyWorksheet, "_cells_by_row", counted)
    result = run(connection, path, partial=True)
    assert result.inserted == 1, report(connection)
    assert len(widths) > 1_000_000 and max(widths) <= 1000
    assert sum(widths) <= 1_048_576 * len(HEADER.split(",")) + 1000 * 1000


def test_a_workbook_that_unpacks_a_thousandfold_is_refused_unread(connection, tmp_path):
    """A zip bomb: 300 MB of rows packed into a few hundred kilobytes."""
    import zipfile

    import openpyxl

    small = tmp_path / "small.xlsx"
    book = openpyxl.Workbook()
    book.active.append(HEADER.strip().split(","))
    book.save(small)
    bomb = tmp_path / "台账.xlsx"
    with zipfile.ZipFile(small) as source, zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as out:
        for member in source.infolist():
            if member.filename != "xl/worksheets/sheet1.xml":
                out.writestr(member, source.read(member))
        with out.open("xl/worksheets/sheet1.xml", "w") as sheet:
            for _ in range(300):
                sheet.write(b"<row><c><v>1</v></c></row>" * 40_000)
    assert bomb.stat().st_size < 3 << 20
    result = run(connection, bomb)
    assert result.problem is not None and result.problem.startswith("台账.xlsx: unpacks to 3"), (
        result.problem
    )
    assert "(a zip bomb)" in result.problem and result.rows == 0
