"""Imports through the service, on the test's rolled-back transaction."""

import dataclasses
import json
from datetime import date
from pathlib import Path

import pyarrow as pa
import pytest
import shapely
from shapely.geometry import Point, box
from sqlalchemy import Connection, text
from sqlalchemy.exc import IntegrityError, OperationalError

from app import demo
from app.core.geo import CoordSys, to_wgs84
from app.demo import facilities as demo_facilities
from app.divisions.service import BoundaryFeature, load_boundaries
from app.exports import service as exports
from app.exports.service import Export, ExportFormat
from app.facilities.repository import FacilityFilter
from app.imports import batches, fields, lists, readers, service, writing
from app.imports.readers import Batch, common, delimited, feature_lines, gdal
from tests.tiles.test_cells import assert_pyramid_exact

HEADER = "工程编号,工程名称,地址,行政区划代码,经度,纬度,建设形式,战时功能,使用状态,掩蔽面积,掩蔽人数,竣工日期\n"
ROW = "{code},{name},合肥市蜀山区怀宁路1号,340104,{lon},{lat},结建,人员掩蔽工程,在用,{area},{persons},{date}\n"


def row(code: str, **kw) -> str:
    values = {
        "code": code,
        "name": "天鹅湖人防地下车库",
        "lon": "117.2281",
        "lat": "31.8262",
        "area": "8000",
        "persons": "8000",
        "date": "2019-05-10",
        **kw,
    }
    return ROW.format(**values)


def write(tmp_path: Path, name: str, content: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(content.encode(encoding))
    return path


def run(connection: Connection, path: Path, **options) -> service.ImportResult:
    return service.import_file(connection, path, service.ImportOptions(**options))


def json_cell(items: list) -> str:
    """`items` as JSON in one quoted CSV cell."""
    return '"' + json.dumps(items, ensure_ascii=False).replace('"', '""') + '"'


def report(connection: Connection) -> list[tuple]:
    return list(service.errors(connection))


def stored(connection: Connection, code: str) -> dict:
    found = (
        connection.execute(
            text(
                "SELECT name, ST_X(location) AS lon, ST_Y(location) AS lat, shelter_area, "
                "capacity_persons, completion_year, construction_form, wartime_function, status, "
                "province_code, city_code, district_code, updated_at FROM facility WHERE code = :c"
            ),
            {"c": code},
        )
        .mappings()
        .first()
    )
    return dict(found) if found else {}


def test_chinese_headers_in_utf8_and_gbk(connection, tmp_path):
    for encoding in ("utf-8", "gbk"):
        code = f"RF-{encoding.upper().replace('-', '')}-001"
        path = write(tmp_path, f"{encoding}.csv", HEADER + row(code), encoding)
        result = run(connection, path)
        assert (result.errors, result.inserted) == (0, 1), report(connection)
        assert result.encoding == ("utf-8" if encoding == "utf-8" else "gb18030")
        facility = stored(connection, code)
        assert facility["name"] == "天鹅湖人防地下车库"
        assert facility["construction_form"] == "attached"
        assert facility["wartime_function"] == "personnel_shelter"
        assert facility["status"] == "in_service"
        assert facility["completion_year"] == 2019
        assert facility["district_code"] == "340104" and facility["city_code"] == "340100"


def test_second_import_of_the_same_file_changes_nothing(connection, tmp_path):
    path = write(tmp_path, "f.csv", HEADER + row("RF-IDEM-001") + row("RF-IDEM-002"))
    first = run(connection, path)
    assert (first.inserted, first.updated, first.unchanged) == (2, 0, 0)
    before = stored(connection, "RF-IDEM-001")
    second = run(connection, path)
    assert (second.inserted, second.updated, second.unchanged) == (0, 0, 2)
    assert not second.written
    assert stored(connection, "RF-IDEM-001")["updated_at"] == before["updated_at"]
    changed = write(
        tmp_path, "g.csv", HEADER + row("RF-IDEM-001", name="新名称") + row("RF-IDEM-002")
    )
    third = run(connection, changed)
    assert (third.inserted, third.updated, third.unchanged) == (0, 1, 1)
    assert stored(connection, "RF-IDEM-001")["name"] == "新名称"


def test_all_or_nothing_and_partial(connection, tmp_path):
    content = HEADER + row("RF-PART-001") + row("RF-PART-002", area="lots") + row("RF-PART-003")
    path = write(tmp_path, "f.csv", content)
    strict = run(connection, path)
    assert (strict.errors, strict.rejected, strict.inserted) == (1, 1, 0)
    assert not strict.committable
    assert stored(connection, "RF-PART-001") == {}
    partial = run(connection, path, partial=True)
    assert (partial.inserted, partial.rejected) == (2, 1) and partial.committable
    assert stored(connection, "RF-PART-001") and not stored(connection, "RF-PART-002")
    assert report(connection) == [(3, "shelter_area", "lots", "is not a number")]


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (row("RF-BAD-001", area="12x0"), ("shelter_area", "12x0", "is not a number")),
        # Numbers too large for the registry's columns are named, not an aborted import.
        (
            row("RF-BAD-001", area="1234567890123"),
            ("shelter_area", "1234567890123", "must be between 0 and 10000000"),
        ),
        (
            row("RF-BAD-001", area="1e99"),
            ("shelter_area", "1e99", "must be between 0 and 10000000"),
        ),
        (row("RF-BAD-001", area="1e999"), ("shelter_area", "1e999", "is not a number")),
        (
            row("RF-BAD-001", persons="8000.5"),
            ("capacity_persons", "8000.5", "is not a whole number"),
        ),
        (row("RF-BAD-001", date="2019-13-45"), ("completion_date", "2019-13-45", "is not a date")),
        (row("RF-BAD-001", date="去年"), ("completion_date", "去年", "is not a date")),
        (
            row("RF-BAD-001", lon="2.35", lat="48.85"),
            ("location", "2.35, 48.85", "position [2.35, 48.85] lies outside China"),
        ),
        (row("RF-BAD-001", lon="东经117"), ("lon", "东经117", "is not a number")),
        (row("RF-BAD-001", lat="nan"), ("lat", "nan", "is not a number")),
        (row("RF-BAD-001", lat=" 1e400x"), ("lat", "1e400x", "is not a number")),
        (
            row("RF-BAD-001", lon=" "),
            ("lon", "", "is required with the other coordinate"),
        ),
        (
            row("RF-BAD-001", persons="20000"),
            (
                "capacity_persons",
                "20000",
                "20000 persons on 8000.00 m² of shelter area is over 1.5 persons per m²",
            ),
        ),
        (
            row("RF-BAD-001").replace(",340104,", ",349999,"),
            ("admin_code", "349999", "349999 is not a known GB/T 2260 division code"),
        ),
        (row("RF-BAD-001").replace(",在用,", ",营业中,"), ("status", "营业中", None)),
        (row("RF-BAD-001").replace("天鹅湖人防地下车库", ""), ("name", None, "is required")),
    ],
)
def test_each_bad_cell_is_named(connection, tmp_path, line, expected):
    result = run(connection, write(tmp_path, "f.csv", HEADER + row("RF-GOOD-001") + line))
    assert result.inserted == 0 and result.rejected == 1
    [(row_no, field, value, reason)] = report(connection)
    assert (row_no, field, value) == (3, *expected[:2])
    if expected[2]:
        assert reason == expected[2]
    else:
        assert reason.startswith("is not one of: planned, under_construction")


def visibility(connection: Connection, code: str) -> str:
    return connection.execute(
        text("SELECT visibility FROM facility WHERE code = :c"), {"c": code}
    ).scalar_one()


def test_visibility_follows_the_function_unless_the_file_gives_it(connection, tmp_path):
    def post(code: str) -> str:
        return row(code).replace("人员掩蔽工程", "指挥工程")

    plain = write(tmp_path, "plain.csv", HEADER + row("RF-VIS-S1") + post("RF-VIS-P1"))
    assert run(connection, plain).inserted == 2, report(connection)
    assert visibility(connection, "RF-VIS-S1") == "public"
    assert visibility(connection, "RF-VIS-P1") == "restricted"
    # Without the column, a stored work keeps the visibility an admin gave it.
    connection.execute(
        text("UPDATE facility SET visibility = 'restricted' WHERE code = 'RF-VIS-S1'")
    )
    assert run(connection, plain).unchanged == 2
    assert visibility(connection, "RF-VIS-S1") == "restricted"

    header = HEADER.rstrip("\n") + ",公开属性\n"
    lines = [
        (row("RF-VIS-S1"), ""),  # empty: the default of its function
        (post("RF-VIS-P1"), "公开"),
        (post("RF-VIS-P2"), ""),
        (row("RF-VIS-S2"), "restricted"),
    ]
    content = header + "".join(f"{line.rstrip()},{cell}\n" for line, cell in lines)
    given = write(tmp_path, "given.csv", content)
    result = run(connection, given)
    assert (result.inserted, result.updated) == (2, 2), report(connection)
    assert [
        visibility(connection, code)
        for code in ("RF-VIS-S1", "RF-VIS-P1", "RF-VIS-P2", "RF-VIS-S2")
    ] == ["public", "public", "restricted", "restricted"]

    bad = write(tmp_path, "bad.csv", header + row("RF-VIS-S3").rstrip() + ",半公开\n")
    assert run(connection, bad).rejected == 1
    [(row_no, field, value, reason)] = report(connection)
    assert (row_no, field, value) == (2, "visibility", "半公开")
    assert reason == "is not one of: public, restricted"


def test_a_nul_character_is_named_in_the_report_not_a_failed_import(connection, tmp_path):
    # PostgreSQL text holds no NUL: raw in a cell, or decoded from \\u0000 in a JSON list.
    header = HEADER.rstrip("\n") + ",protection_units,entrances\n"
    unit = '"[{""name"": ""第1\\u0000单元"", ""shelter_area"": 8000, ""capacity_persons"": 8000}]"'
    entrance = (
        '"[{""kind"": ""vehicle"", ""name"": ""1号\\u0000口"", '
        '""location"": {""type"": ""Point"", ""coordinates"": [117.2285, 31.8264]}}]"'
    )
    lines = [
        (row("RF-NUL-001"), ","),
        (row("RF-NUL-002", name="坏\x00名字"), ","),
        (row("RF-NUL-003"), unit + ","),
        (row("RF-NUL-004"), "," + entrance),
        (row("RF-NUL-005", lon="117.2\x00"), ","),
    ]
    content = header + "".join(f"{line.rstrip()},{extra}\n" for line, extra in lines)
    result = run(connection, write(tmp_path, "f.csv", content), partial=True)
    assert (result.inserted, result.rejected) == (1, 4)
    reason = "contains a NUL character (\\u0000), which text cannot hold"
    assert sorted(report(connection)) == [
        (3, "name", "坏␀名字", reason),
        (4, "protection_units", "第1␀单元", reason),
        (5, "entrances", "1号␀口", reason),
        (6, "lon", "117.2␀", "is not a number"),
    ]


def test_wkt_geometry_and_invalid_polygons(connection, tmp_path):
    header = "code,name,address,admin_code,construction_form,wartime_function,status,wkt\n"
    base = '{},车库,合肥市包河区,340111,attached,personnel_shelter,in_service,"{}"\n'
    square = "POLYGON((117.30 31.79, 117.31 31.79, 117.31 31.80, 117.30 31.80, 117.30 31.79))"
    bowtie = "POLYGON((117.30 31.79, 117.31 31.80, 117.31 31.79, 117.30 31.80, 117.30 31.79))"
    content = (
        header
        + base.format("RF-WKT-001", "POINT(117.3 31.79)")
        + base.format("RF-WKT-002", square)
        + base.format("RF-WKT-003", bowtie)
        + base.format("RF-WKT-004", "POINT(117.3")
        + base.format("RF-WKT-005", "LINESTRING(117.3 31.79, 117.31 31.8)")
    )
    result = run(connection, write(tmp_path, "f.csv", content))
    errors = {r[0]: (r[1], r[3]) for r in report(connection)}
    assert set(errors) == {4, 5, 6}
    assert errors[4][0] == "footprint" and errors[4][1].startswith(
        "invalid polygon: Self-intersection"
    )
    assert errors[5] == ("wkt", "is not WKT geometry")
    assert errors[6] == ("wkt", "a LineString is neither a point nor a polygon")
    partial = run(connection, write(tmp_path, "f.csv", content), partial=True)
    assert partial.inserted == 2
    footprint = connection.execute(
        text(
            "SELECT ST_AsText(footprint), ST_Covers(footprint, location) FROM facility WHERE code = 'RF-WKT-002'"
        )
    ).one()
    assert footprint[0].startswith("MULTIPOLYGON") and footprint[1]
    assert result.inserted == 0


def test_duplicate_codes_in_a_file(connection, tmp_path):
    content = HEADER + row("RF-DUP-001") + row("RF-DUP-002") + row("RF-DUP-001")
    result = run(connection, write(tmp_path, "f.csv", content), partial=True)
    assert result.inserted == 1
    assert report(connection) == [
        (2, "code", "RF-DUP-001", "appears 2 times in the file (rows 2, 4)"),
        (4, "code", "RF-DUP-001", "appears 2 times in the file (rows 2, 4)"),
    ]


def test_csv_rows_keep_their_numbers_when_arrow_hands_over(connection, tmp_path, monkeypatch):
    """Arrow reads well-formed batches; from the first batch it refuses (a row of the wrong
    width), the csv module reads on and names the row. Blank lines and quoted line breaks
    count as the file counts them, either way."""
    monkeypatch.setattr(common, "BATCH_ROWS", 2)
    monkeypatch.setattr(common, "CSV_BLOCK_BYTES", 400)
    good = [row(f"RF-HAND-{i:03}") for i in range(1, 8)]
    quoted = row("RF-HAND-009", name='"天鹅湖\n人防车库"')
    content = HEADER + good[0] + "\n" + good[1] + quoted + good[2] + good[3]
    content += "RF-HAND-008,只有名称\n" + good[4] + ",,,,,,,,,,,\n" + good[5] + good[6]
    result = run(connection, write(tmp_path, "f.csv", content), partial=True)
    assert (result.rows, result.inserted, result.rejected) == (9, 8, 1)
    assert report(connection) == [(8, "", None, "has 2 fields where the header has 12")]
    assert stored(connection, "RF-HAND-009")["name"] == "天鹅湖\n人防车库"
    rows = dict(connection.execute(text("SELECT code, row_no FROM import_typed")).all())
    assert rows["RF-HAND-009"] == 5 and rows["RF-HAND-005"] == 9 and rows["RF-HAND-007"] == 12


@pytest.mark.parametrize(
    ("encoding", "by_arrow"), [("utf-8-sig", True), ("gbk", True), ("utf-16", False)]
)
def test_which_csv_files_arrow_reads(connection, tmp_path, monkeypatch, encoding, by_arrow):
    """Arrow reads files whose quote is one byte no other character has (its count tells
    a truncated file); the csv module reads the rest, to the same rows."""
    used = []
    arrow = delimited._arrow_csv

    def spy(*args):
        used.append(True)
        yield from arrow(*args)

    monkeypatch.setattr(delimited, "_arrow_csv", spy)
    content = HEADER + row("RF-ENC-001", name='"丢失的""车库"""')
    result = run(connection, write(tmp_path, "f.csv", content, encoding), encoding=encoding)
    assert result.inserted == 1, report(connection)
    assert stored(connection, "RF-ENC-001")["name"] == '丢失的"车库"'
    assert bool(used) == by_arrow


@pytest.mark.parametrize(
    ("cell", "shanghai"),
    [
        ("2022-06-30 06:16:44", "2022-06-30 06:16:44"),
        (" 2022-06-30T06:16 ", "2022-06-30 06:16:00"),
        ("2022-06-30 06:16:44+00", "2022-06-30 14:16:44"),
        ("2022-06-30T06:16:44Z", "2022-06-30 14:16:44"),
        ("2022-06-30 06:16:44.25-0930", "2022-06-30 23:46:44.25"),
        ("2024-02-29 08:00", "2024-02-29 08:00:00"),
        ("2022/06/30 06:16", "2022-06-30 06:16:00"),
        ("2023-02-29 08:00", None),
        ("2022-04-31 08:00", None),
        ("2022-06-30 24:00:01", None),
        ("昨天", None),
    ],
)
def test_verification_times_in_the_forms_offices_write(connection, tmp_path, cell, shanghai):
    """ISO times are cast as they are, the rest parsed one by one: both agree, and a time
    without a zone is Beijing time."""
    content = HEADER.replace("\n", ",核查时间\n") + row("RF-TIME-001").replace("\n", f",{cell}\n")
    result = run(connection, write(tmp_path, "f.csv", content))
    if shanghai is None:
        assert report(connection) == [(2, "verified_at", cell.strip(), "is not a date and time")]
        return
    assert result.inserted == 1, report(connection)
    found = connection.execute(
        text(
            "SELECT to_char(verified_at AT TIME ZONE 'Asia/Shanghai', "
            "'YYYY-MM-DD HH24:MI:SS.FF2') FROM facility WHERE code = 'RF-TIME-001'"
        )
    ).scalar()
    assert found.removesuffix(".00") == shanghai


RANGE = "must lie between 1900-01-01 and 2100-12-31 (UTC)"


@pytest.mark.parametrize(
    ("cell", "reason"),
    [
        # 1 BC in UTC, which Python could not read back
        ("0001-01-01T00:00:00+14:00", RANGE),
        ("-infinity", RANGE),
        ("infinity", RANGE),
        ("1900-01-01 07:59:59", RANGE),  # Beijing time, a second before 1900 in UTC
        ("2101-01-01T00:00:00Z", RANGE),
        ("2099-01-01T00:00:00Z", "lies in the future"),
        ("1900-01-01T00:00:00Z", None),
    ],
)
def test_verification_times_outside_the_range(connection, tmp_path, cell, reason):
    content = HEADER.replace("\n", ",核查时间\n") + row("RF-TIME-001").replace("\n", f",{cell}\n")
    result = run(connection, write(tmp_path, "f.csv", content))
    if reason is None:
        assert result.inserted == 1, report(connection)
        return
    assert result.inserted == 0
    [(row_no, field, _, found)] = report(connection)
    assert (row_no, field, found) == (2, "verified_at", reason)


def test_geojson_verification_times_outside_the_range(connection, tmp_path):
    def feature(code: str, verified_at: str) -> dict:
        return {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [117.2281, 31.8262]},
            "properties": {
                "code": code,
                "name": "天鹅湖人防地下车库",
                "address": "合肥市蜀山区怀宁路1号",
                "admin_code": "340104",
                "construction_form": "attached",
                "wartime_function": "personnel_shelter",
                "status": "in_service",
                "verified_at": verified_at,
            },
        }

    collection = {
        "type": "FeatureCollection",
        "features": [
            feature("RF-GJ-001", "2024-05-10T09:00:00+08:00"),
            feature("RF-GJ-002", "0001-01-01T00:00:00+14:00"),
        ],
    }
    path = write(tmp_path, "f.geojson", json.dumps(collection))
    result = run(connection, path, partial=True)
    assert (result.inserted, result.rejected) == (1, 1)
    assert [(r, f, reason) for r, f, _, reason in report(connection)] == [(2, "verified_at", RANGE)]


def test_a_stored_time_from_before_the_range_check_rejects_its_row(connection, tmp_path):
    from tests.conftest import write_past_range_check

    run(connection, write(tmp_path, "f.csv", HEADER + row("RF-OLD-001") + row("RF-OLD-002")))
    old = connection.execute(text("SELECT id FROM facility WHERE code = 'RF-OLD-001'")).scalar()
    write_past_range_check(connection, "facility", "verified_at", old, "0001-01-01T00:00:00+14")
    update = "工程编号,值班电话\nRF-OLD-001,0551-65551234\nRF-OLD-002,0551-65551235\n"
    result = run(connection, write(tmp_path, "u.csv", update), partial=True)
    assert (result.updated, result.rejected) == (1, 1)
    [(row_no, field, value, reason)] = report(connection)
    assert (row_no, field, reason) == (2, "verified_at", RANGE) and value.endswith(" BC")


def test_file_problems_write_nothing(connection, tmp_path):
    gbk = write(tmp_path, "gbk.csv", HEADER + row("RF-ENC-001"), "gbk")
    wrong = run(connection, gbk, encoding="utf-8")
    assert wrong.problem and "not valid utf-8 text" in wrong.problem and not wrong.committable

    truncated = write(tmp_path, "t.csv", HEADER + row("RF-TRUNC-001") + '"RF-TRUNC-002,半截')
    result = run(connection, truncated)
    assert result.problem and "malformed or truncated CSV at row 3" in result.problem

    short = write(tmp_path, "s.csv", HEADER + row("RF-SHORT-001") + "RF-SHORT-002,只有名称\n")
    result = run(connection, short)
    assert report(connection) == [(3, "", None, "has 2 fields where the header has 12")]

    missing = write(tmp_path, "m.csv", "工程编号,工程名称\nRF-MISS-001,车库\n")
    result = run(connection, missing)
    assert result.problem.startswith("missing required column(s): address, construction_form")
    assert result.inserted == 0

    broken = write(
        tmp_path, "b.geojson", '{"type": "FeatureCollection", "features": [{"type": "Fea'
    )
    result = run(connection, broken)
    assert result.problem and "cannot be read as geojson" in result.problem
    assert stored(connection, "RF-MISS-001") == {}


def test_update_only_file_needs_only_the_code(connection, tmp_path):
    run(connection, write(tmp_path, "f.csv", HEADER + row("RF-UPD-001")))
    update = write(tmp_path, "u.csv", "工程编号,值班电话\nRF-UPD-001,0551-65551234\n")
    result = run(connection, update)
    assert (result.updated, result.errors) == (1, 0)
    phone = connection.execute(
        text("SELECT keyholder_phone, name FROM facility WHERE code = 'RF-UPD-001'")
    ).one()
    assert tuple(phone) == ("0551-65551234", "天鹅湖人防地下车库")


@pytest.mark.parametrize("coordsys", [CoordSys.gcj02, CoordSys.bd09])
def test_coordinate_systems_are_converted_on_import(connection, tmp_path, coordsys):
    path = write(tmp_path, "f.csv", HEADER + row("RF-GCJ-001", lon="117.2340", lat="31.8240"))
    result = run(connection, path, coordsys=coordsys)
    assert result.inserted == 1, report(connection)
    facility = stored(connection, "RF-GCJ-001")
    expected = to_wgs84(Point(117.2340, 31.8240), coordsys)
    assert facility["lon"] == pytest.approx(expected.x, abs=1e-9)
    assert facility["lat"] == pytest.approx(expected.y, abs=1e-9)
    # Hundreds of metres: about 0.005 degrees here.
    assert abs(facility["lon"] - 117.2340) > 0.003


def test_xlsx_with_chinese_headers(connection, tmp_path):
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(
        [
            "工程编号",
            "工程名称",
            "地址",
            "行政区划代码",
            "经度",
            "纬度",
            "建设形式",
            "单建类型",
            "战时功能",
            "防护等级",
            "防化等级",
            "建筑面积(㎡)",
            "使用状态",
            "核查时间",
        ]
    )
    from datetime import datetime

    sheet.append(
        [
            "RF-XLSX-001",
            "凤凰山人防工程",
            "淮南市田家庵区",
            "340400",
            117.0,
            32.63,
            "单建",
            "坑道式",
            "指挥工程",
            "核5/常5",
            "甲",
            3000,
            "在用",
            datetime(2024, 5, 10, 9),
        ]
    )
    path = tmp_path / "f.xlsx"
    book.save(path)
    result = run(connection, path)
    assert (result.inserted, result.errors) == (1, 0), report(connection)
    facility = connection.execute(
        text(
            "SELECT standalone_type, nuclear_level, conventional_level, chemical_class, "
            "building_area, verified_at AT TIME ZONE 'Asia/Shanghai' FROM facility "
            "WHERE code = 'RF-XLSX-001'"
        )
    ).one()
    assert facility[:4] == ("tunnel", "5", "5", "A")
    assert float(facility[4]) == 3000 and facility[5].hour == 9


def test_every_format_round_trips(connection, make_database, tmp_path):
    from sqlalchemy import create_engine

    from tests.conftest import run_migrations

    demo.load(connection, size=150, seed=7)
    where = FacilityFilter()
    target = create_engine(make_database())
    with target.begin() as fresh:
        run_migrations(fresh)
    try:
        for file_format in ExportFormat:
            first = tmp_path / f"first{file_format.suffix}"
            exports.write_file(connection, Export(where, file_format), first)
            if file_format in (ExportFormat.geojson, ExportFormat.ndjson):  # not left to GDAL
                kind = readers.FileFormat(file_format.value)
                assert _batches(
                    feature_lines.read_feature_lines(first, kind, fields.header_mapping(None))
                )
            with target.connect() as other:
                transaction = other.begin()
                progress = _Recorder()
                result = service.import_file(
                    other, first, service.ImportOptions(), progress=progress
                )
                assert (result.errors, result.inserted) == (0, 150), list(service.errors(other))
                assert (progress.totals["reading"], progress.rows) == (150, 150), file_format
                again = service.import_file(other, first, service.ImportOptions())
                assert (again.inserted, again.updated, again.unchanged) == (0, 0, 150)
                second = tmp_path / f"second{file_format.suffix}"
                exports.write_file(other, Export(where, file_format), second)
                transaction.rollback()
            if file_format == ExportFormat.gpkg:
                # A GeoPackage records when it was written; its content must agree.
                assert _gis_content(first) == _gis_content(second)
            elif file_format == ExportFormat.xlsx:
                # So does a workbook: every sheet's every value must agree.
                assert _workbook_content(first) == _workbook_content(second)
            else:
                assert first.read_bytes() == second.read_bytes(), file_format
    finally:
        target.dispose()


class _Recorder:
    def __init__(self) -> None:
        self.totals: dict[str, int | None] = {}
        self.rows = 0

    def stage(self, name: str, total: int | None) -> None:
        self.totals[name] = total

    def advance(self, rows: int) -> None:
        self.rows += rows


def _workbook_content(path: Path) -> dict[str, list[tuple]]:
    import openpyxl

    book = openpyxl.load_workbook(path, read_only=True)
    try:
        return {sheet.title: list(sheet.iter_rows(values_only=True)) for sheet in book}
    finally:
        book.close()


def _gis_content(path: Path) -> tuple:
    import pyogrio

    meta, _, geometry, values = pyogrio.raw.read(path)
    # As text: a missing number reads as NaN, and NaN != NaN.
    return list(meta["fields"]), list(geometry), [[str(x) for x in v] for v in values]


def test_gbk_shapefile_without_cpg_with_polygons(connection, tmp_path):
    import numpy as np
    import pyogrio

    square = shapely.from_wkt(
        "POLYGON((117.30 31.79, 117.31 31.79, 117.31 31.80, 117.30 31.80, 117.30 31.79))"
    )
    path = tmp_path / "survey.shp"
    headers = ["工程编号", "工程名称", "地址", "区划代码", "建设形式", "战时功能", "使用状态"]
    values = [
        "RF-SHP-001",
        "包河人防工程",
        "合肥市包河区",
        "340111",
        "结建",
        "人员掩蔽工程",
        "在用",
    ]
    pyogrio.raw.write(
        path,
        np.array([shapely.to_wkb(square)], dtype=object),
        [np.array([v], dtype=object) for v in values],
        headers,
        driver="ESRI Shapefile",
        geometry_type="Polygon",
        crs="EPSG:4326",
        encoding="GBK",
    )
    path.with_suffix(".cpg").unlink(missing_ok=True)
    mapping = tmp_path / "mapping.json"
    mapping.write_text(json.dumps({"区划代码": "admin_code"}, ensure_ascii=False))
    result = run(connection, path, mapping=fields.read_mapping(mapping))
    assert (result.errors, result.inserted) == (0, 1), report(connection)
    assert result.encoding == "GB18030"
    row = connection.execute(
        text(
            "SELECT name, ST_Covers(footprint, location), ST_Area(footprint) > 0 "
            "FROM facility WHERE code = 'RF-SHP-001'"
        )
    ).one()
    assert tuple(row) == ("包河人防工程", True, True)


def test_protection_units_and_entrances_columns(connection, tmp_path):
    header = HEADER.rstrip("\n") + ",protection_units,entrances\n"
    units = '"[{""name"": ""第1防护单元"", ""shelter_area"": 5000, ""capacity_persons"": 5000}, {""name"": ""第2防护单元"", ""shelter_area"": 3000, ""capacity_persons"": 3000}]"'
    entrances = '"[{""kind"": ""vehicle"", ""location"": {""type"": ""Point"", ""coordinates"": [117.2285, 31.8264]}}]"'
    good = row("RF-UNIT-001").rstrip("\n") + f",{units},{entrances}\n"
    wrong_total = row("RF-UNIT-002", area="9000", persons="9000").rstrip("\n") + f",{units},[]\n"
    bad_kind = row("RF-UNIT-003").rstrip("\n") + ',[],"[{""kind"": ""door""}]"\n'
    result = run(
        connection, write(tmp_path, "f.csv", header + good + wrong_total + bad_kind), partial=True
    )
    assert result.inserted == 1
    errors = [(r[0], r[1], r[3]) for r in report(connection)]
    assert (
        3,
        "shelter_area",
        "9000.00 disagrees with the sum over its protection units, 8000.00",
    ) in errors
    assert any(e[0] == 4 and e[1] == "entrances" and e[2].startswith("0.kind:") for e in errors)
    counts = connection.execute(
        text(
            "SELECT (SELECT count(*) FROM protection_unit u WHERE u.facility_id = f.id), "
            "(SELECT count(*) FROM entrance e WHERE e.facility_id = f.id) "
            "FROM facility f WHERE code = 'RF-UNIT-001'"
        )
    ).one()
    assert tuple(counts) == (2, 1)
    # The same file again: children compared as lists, nothing rewritten.
    again = run(connection, write(tmp_path, "f.csv", header + good), partial=True)
    assert (again.updated, again.unchanged) == (0, 1)


def _schema(connection: Connection) -> dict[str, tuple]:
    """Index and constraint definitions of the tables an import writes, with the oids of
    the indexes (a rebuilt index has a new one)."""
    rows = connection.execute(
        text(
            "SELECT CAST(CAST(indexrelid AS regclass) AS text), pg_get_indexdef(indexrelid), "
            "indexrelid FROM pg_index WHERE indrelid = ANY(CAST(:tables AS regclass[])) "
            "UNION ALL SELECT conname, pg_get_constraintdef(oid), NULL FROM pg_constraint "
            "WHERE conrelid = ANY(CAST(:tables AS regclass[]))"
        ),
        {"tables": ["facility", "facility_figure", "entrance", "protection_unit"]},
    )
    return {name: (definition, oid) for name, definition, oid in rows}


def test_a_first_load_builds_indexes_and_checks_keys_after_the_rows(
    connection, tmp_path, monkeypatch
):

    monkeypatch.setattr(writing, "BULK_ROWS", 2)
    header = HEADER.rstrip("\n") + ",protection_units,entrances\n"
    units = '"[{""name"": ""第1防护单元"", ""shelter_area"": 8000, ""capacity_persons"": 8000}]"'
    entrances = '"[{""kind"": ""vehicle"", ""location"": {""type"": ""Point"", ""coordinates"": [117.2285, 31.8264]}}]"'
    content = header + "".join(
        row(f"RF-BULK-00{i}", name=f"滨湖{i}号人防车库").rstrip("\n") + f",{units},{entrances}\n"
        for i in range(3)
    )
    before = _schema(connection)
    assert connection.execute(text("SELECT count(*) FROM facility")).scalar() == 0
    result = run(connection, write(tmp_path, "f.csv", content))
    assert (result.inserted, result.errors) == (3, 0)
    after = _schema(connection)
    assert {name: d for name, (d, _) in after.items()} == {
        name: d for name, (d, _) in before.items()
    }
    rebuilt = {name for name, (_, oid) in after.items() if oid and oid != before[name][1]}
    assert {
        "ix_facility_search",
        "ix_facility_location",
        "ix_facility_figure_city_code",
        "ix_entrance_location",
    } <= rebuilt
    assert "uq_facility_code" not in rebuilt  # a constraint's: it checks each row
    # The rebuilt indexes answer, and the keys put back hold.
    found = connection.execute(
        text(
            "SELECT count(*) FROM facility WHERE name || ' ' || address LIKE '%滨湖1号%' "
            "AND ST_DWithin(location, ST_SetSRID(ST_MakePoint(117.2281, 31.8262), 4326), 0.001)"
        )
    ).scalar()
    assert found == 1
    figures = connection.execute(
        text(
            "SELECT count(*) FROM facility_figure g JOIN facility f ON f.id = g.facility_id "
            "WHERE f.code LIKE 'RF-BULK-%'"
        )
    ).scalar()
    assert figures == 3
    with pytest.raises(IntegrityError), connection.begin_nested():
        connection.execute(text("UPDATE facility SET district_code = '999999'"))
    with pytest.raises(IntegrityError), connection.begin_nested():
        connection.execute(
            text(
                "INSERT INTO entrance (facility_id, kind, accessible, location) "
                "VALUES (-1, 'vehicle', false, ST_SetSRID(ST_MakePoint(117, 31), 4326))"
            )
        )
    # Into a registry that holds facilities, the indexes stay as they are.
    again = run(
        connection, write(tmp_path, "g.csv", HEADER + row("RF-BULK-010") + row("RF-BULK-011"))
    )
    assert again.inserted == 2
    assert _schema(connection) == after
    # The first load's plain INSERT left rows that a later import finds and leaves alone.
    same = run(connection, write(tmp_path, "f.csv", content))
    assert (same.inserted, same.updated, same.unchanged) == (0, 0, 3)


def test_a_first_load_numbers_facilities_by_row_and_their_lists_follow(
    connection, tmp_path, monkeypatch
):
    """A first load takes a block of facility ids, the row numbered n getting base + n,
    and entrances and units find their facility by row number. A rejected row leaves a
    gap and no children; lists keep their order; later ids come after the block."""

    monkeypatch.setattr(writing, "BULK_ROWS", 2)

    def lists(i: int) -> str:
        units = [
            {"name": f"{i}-{k}单元", "shelter_area": 10, "capacity_persons": 10} for k in (2, 1)
        ]
        return f",{json_cell(units)},{json_cell([_entrance(f'{i}-{k}口') for k in (3, 1, 2)])}\n"

    header = HEADER.rstrip("\n") + ",protection_units,entrances\n"
    content = header + "".join(
        row(f"RF-NUM-{i}", lat="91" if i == 1 else "31.8262", area="20", persons="20").rstrip("\n")
        + lists(i)
        for i in range(4)
    )
    result = run(connection, write(tmp_path, "f.csv", content), partial=True)
    assert (result.inserted, result.rejected) == (3, 1)
    ids = dict(connection.execute(text("SELECT code, id FROM facility")).all())
    assert ids["RF-NUM-3"] - ids["RF-NUM-0"] == 3  # rows 2 and 5 of the file
    children = connection.execute(
        text(
            "SELECT f.code, "
            "(SELECT array_agg(name ORDER BY id) FROM entrance WHERE facility_id = f.id), "
            "(SELECT array_agg(name ORDER BY id) FROM protection_unit WHERE facility_id = f.id) "
            "FROM facility f ORDER BY f.code"
        )
    ).all()
    assert children == [
        (f"RF-NUM-{i}", [f"{i}-3口", f"{i}-1口", f"{i}-2口"], [f"{i}-2单元", f"{i}-1单元"])
        for i in (0, 2, 3)
    ]
    run(connection, write(tmp_path, "g.csv", HEADER + row("RF-NUM-9")))
    later = connection.execute(text("SELECT id FROM facility WHERE code = 'RF-NUM-9'")).scalar()
    assert later > max(ids.values())


def test_the_demo_loader_waits_for_a_first_import_before_taking_ids(
    connection, engine, tmp_path, monkeypatch
):
    """A first import keeps facility locked from its block of ids to its commit, and the
    demo loader takes the table's lock before its ids: none can fall inside the block."""

    monkeypatch.setattr(writing, "BULK_ROWS", 2)
    result = run(connection, write(tmp_path, "f.csv", HEADER + row("RF-LOCK-1") + row("RF-LOCK-2")))
    assert result.inserted == 2
    with engine.connect() as other:
        other.execute(text("SET lock_timeout = '200ms'"))
        with pytest.raises(OperationalError, match="lock timeout"):
            demo_facilities._reserve_facility_ids(other, 3)


def test_codes_of_deleted_facilities_are_not_revived(connection, tmp_path):
    run(connection, write(tmp_path, "f.csv", HEADER + row("RF-DEL-001")))
    connection.execute(text("UPDATE facility SET deleted_at = now() WHERE code = 'RF-DEL-001'"))
    result = run(connection, write(tmp_path, "g.csv", HEADER + row("RF-DEL-001", name="复活")))
    assert result.inserted + result.updated == 0
    assert report(connection) == [
        (2, "code", "RF-DEL-001", "belongs to a deleted facility; it is not revived by an import")
    ]


def _entrance(name: object = "1号口", lon: object = 117.2285, **extra) -> dict:
    location = {"type": "Point", "coordinates": [lon, 31.8264]}
    return {"kind": "vehicle", "accessible": True, "name": name, "location": location, **extra}


CLEAN = json.dumps([_entrance(), _entrance(None)], ensure_ascii=False)
ODD = [
    json.dumps([_entrance(" 2号口\u3000")], ensure_ascii=False),  # stripped by the model
    json.dumps([_entrance(lon=2.35)]),  # outside China
    json.dumps([_entrance(name="")]),
    json.dumps([{"kind": "vehicle", "location": _entrance()["location"]}]),  # default accessible
    json.dumps([None]),
    json.dumps([_entrance()] * 51),
    "null",
    "\u3000 ",  # blank: no entrances, no error
]


@pytest.mark.parametrize("odd", ODD)
def test_entrance_lists_checked_by_arrow_or_one_by_one_agree(monkeypatch, odd):
    """Arrow checks whole batches of entrance lists; what its checks do not pass goes one
    by one to the API's model. Either way the staged entrances and the errors are the
    same as the model's alone."""
    cells = [CLEAN, odd, json.dumps(json.loads(CLEAN), indent=2), "", None]
    blank, checked, _ = lists.arrow_entrances(pa.array(cells, pa.string()))
    assert checked.tolist() == [True, False, True, False, False]
    assert blank.tolist() == [False, odd.strip() == "", False, True, True]
    _staged_alike(monkeypatch, fields.ENTRANCES, cells, "arrow_entrances", "entrances")


def _staged_alike(monkeypatch, field_name, cells, checker, staged):
    """Stages `cells` with Arrow's checks, and again with none passing them (the model
    alone), and finds the same errors and the same staged table."""
    batch = Batch(rows=[2, 3, 4, 5, 6], cells={field_name: cells})
    both = batches.StagedBatch(batch, CoordSys.wgs84)
    arrow = getattr(batches, checker)

    def unchecked(texts):
        blank, checked, table = arrow(texts)
        return blank, checked & False, table.slice(0, 0)

    monkeypatch.setattr(batches, checker, unchecked)
    model = batches.StagedBatch(batch, CoordSys.wgs84)
    assert both.errors == model.errors
    order = [("row_no", "ascending"), ("seq", "ascending")]
    assert getattr(both, staged).sort_by(order).equals(getattr(model, staged).sort_by(order))
    return both


def _unit(name: object = "第1防护单元", area: object = 2141.345, persons: object = 2000) -> dict:
    return {"name": name, "shelter_area": area, "capacity_persons": persons}


UNITS = json.dumps([_unit(), _unit("第2防护单元", 800, 0)], ensure_ascii=False)
ODD_UNITS = [
    json.dumps([_unit(" 第3单元 ")], ensure_ascii=False),  # stripped by the model
    json.dumps([_unit(), _unit()], ensure_ascii=False),  # a name twice
    json.dumps([_unit(area=-1)]),
    json.dumps([_unit(persons=1_000_001)]),
    json.dumps([_unit(name="")]),
    json.dumps([{"name": "单元"}]),
    json.dumps([None]),
    json.dumps([_unit(f"第{i}单元") for i in range(201)], ensure_ascii=False),
    "null",
    "[]",
    "\u3000 ",  # blank: no units, no error
]


@pytest.mark.parametrize("odd", ODD_UNITS)
def test_unit_lists_checked_by_arrow_or_one_by_one_agree(monkeypatch, odd):
    """As for entrances: the units Arrow checks, and those the API's model judges one by
    one, are staged alike (areas rounded as Python rounds), with the same errors."""
    cells = [UNITS, odd, json.dumps(json.loads(UNITS), indent=2), "", None]
    _, checked, _ = lists.arrow_units(pa.array(cells, pa.string()))
    assert checked.tolist() == [True, odd == "[]", True, False, False]
    both = _staged_alike(monkeypatch, fields.UNITS, cells, "arrow_units", "units")
    assert both.units["shelter_area"][0].as_py() == round(2141.345, 2)


@pytest.mark.parametrize(
    ("cell", "reason"),
    [
        (json.dumps([_entrance(door="blast")]), "0.door: Extra inputs are not permitted"),
        ("[" * 3000, "Invalid JSON: recursion limit exceeded at line 1 column 202"),
        (
            '[{"kind": "vehicle"}] {"e": []}',
            "Invalid JSON: trailing characters at line 1 column 23",
        ),
    ],
)
def test_an_entrance_batch_arrow_cannot_read_is_checked_one_by_one(cell, reason):
    cells = [CLEAN, cell]
    blank, checked, table = lists.arrow_entrances(pa.array(cells, pa.string()))
    assert (checked.tolist(), table.num_rows) == ([False, False], 0)
    batch = Batch(rows=[2, 3], cells={fields.ENTRANCES: cells})
    staged = batches.StagedBatch(batch, CoordSys.wgs84)
    assert staged.entrances["row_no"].to_pylist() == [2, 2]
    assert [(row, why) for row, _, _, why in staged.errors] == [(3, reason)]


def test_lists_longer_than_the_api_takes_are_refused(connection, tmp_path):
    """50 entrances and 200 protection units, as the API's facility model: a longer list
    in a file is named in the report, and nothing is written."""
    header = HEADER.rstrip("\n") + ",entrances,protection_units\n"

    units = [_unit(f"第{i}单元", 1, 1) for i in range(201)]
    content = (
        header
        + row("RF-CAP-001").rstrip("\n")
        + f",{json_cell([_entrance()] * 51)},\n"
        + row("RF-CAP-002", area="201", persons="201").rstrip("\n")
        + f",,{json_cell(units)}\n"
    )
    result = run(connection, write(tmp_path, "f.csv", content))
    assert (result.inserted, result.rejected) == (0, 2)
    assert [(r, f, why) for r, f, _, why in report(connection)] == [
        (2, "entrances", "List should have at most 50 items after validation, not 51"),
        (3, "protection_units", "List should have at most 200 items after validation, not 201"),
    ]
    assert connection.execute(text("SELECT count(*) FROM facility")).scalar() == 0


LINE_FEATURES = [
    {
        "type": "Feature",
        "properties": {
            "code": "RF-LINE-001",
            "name": "一号车库",
            "shelter_area": 12970.03,
            "capacity_persons": 100,
            "keyholder_phone": 15005679564,
            "entrances": [
                {
                    "kind": "vehicle",
                    "accessible": True,
                    "name": "1号口",
                    "location": {"type": "Point", "coordinates": [117.2285, 31.8265]},
                }
            ],
        },
        "geometry": {"type": "Point", "coordinates": [117.2281, 31.8262]},
    },
    {
        "type": "Feature",
        "properties": {
            "code": "RF-LINE-002",
            "name": 1234,
            "shelter_area": 8000,
            "capacity_persons": 100.0,
            "standalone_type": None,
            "protection_units": [],
        },
        "geometry": {
            "type": "Polygon",
            "coordinates": [[[117.3, 31.79], [117.31, 31.79], [117.31, 31.8], [117.3, 31.79]]],
        },
    },
    {"type": "Feature", "properties": None, "geometry": None},
    {
        "type": "Feature",
        "properties": {"code": "RF-LINE-004", "地址": "合肥市", "open": True, "tags": {"a": [1]}},
        "geometry": {"type": "Point", "coordinates": [117.2, 31.8, 12.5]},
    },
    {"type": "Feature", "properties": {"code": "RF-LINE-005"}, "geometry": {"type": "Pt"}},
]


def _lines(features: list[dict], head: str, tail: str = "\n]}\n", separator: str = ",\n") -> str:
    body = separator.join(json.dumps(f, ensure_ascii=False) for f in features)
    return head + body + tail


COLLECTION_HEAD = '{"type": "FeatureCollection",\n"features": [\n'


def _batches(source: readers.Source) -> tuple[list[int], dict[str, list], list]:
    rows, cells, geometries = [], {}, []
    for batch in source.batches:
        rows += batch.rows
        for name, column in batch.cells.items():
            values = column.to_pylist()
            if name in (fields.ENTRANCES, fields.UNITS):  # JSON written either way
                values = [None if v is None else json.loads(v) for v in values]
            cells.setdefault(name, []).extend(values)
        geometries += [None if g is None else shapely.from_wkb(g).wkt for g in batch.geometry]
    return rows, cells, geometries


@pytest.mark.parametrize(
    "content",
    [
        _lines(LINE_FEATURES, COLLECTION_HEAD),
        # A byte order mark (Windows editors write one), a CRS, members after the features.
        "\ufeff"
        + _lines(
            LINE_FEATURES,
            '{"type": "FeatureCollection", "name": "x",\n"crs": {"type": "name", '
            '"properties": {"name": "urn:ogc:def:crs:EPSG::4490"}},\n"features": [\n',
            '\n],\n"bbox": [117.2, 31.79, 117.31, 31.83]\n}\n',
        ),
        # A GeoJSON text sequence (RFC 8142): a record separator before each feature.
        _lines(LINE_FEATURES, "\x1e", "\n", "\n\x1e"),
        _lines([{**f, "geometry": None} for f in LINE_FEATURES], COLLECTION_HEAD),
    ],
    ids=["collection", "bom-crs-bbox", "sequence", "no-geometry"],
)
def test_geojson_a_feature_per_line_is_read_as_gdal_reads_it(tmp_path, content):
    name = "f.geojsons" if content.startswith("\x1e") else "f.geojson"
    path = write(tmp_path, name, content)
    mapping = fields.header_mapping(None)
    kind = readers.detect_format(path, None)
    fast = feature_lines.read_feature_lines(path, kind, mapping)
    assert fast is not None, "read by orjson"
    slow = gdal.read_gis(path, kind, None, mapping, None)
    assert (fast.mapped, fast.total, fast.has_geometry) == (slow.mapped, 5, slow.has_geometry)
    assert _batches(fast) == _batches(slow)


@pytest.mark.parametrize(
    "content",
    [
        json.dumps({"type": "FeatureCollection", "features": LINE_FEATURES}),
        json.dumps({"type": "FeatureCollection", "features": LINE_FEATURES}, indent=2),
        _lines(LINE_FEATURES, COLLECTION_HEAD, "\n"),  # no end
        _lines(LINE_FEATURES, COLLECTION_HEAD, separator="\n"),  # no commas
        _lines(LINE_FEATURES, COLLECTION_HEAD, ",\n]}\n"),  # a comma after the last
        _lines(LINE_FEATURES, COLLECTION_HEAD)[:-40],  # cut short
        _lines([*LINE_FEATURES, {"type": "Point", "coordinates": [117, 31]}], COLLECTION_HEAD),
        _lines(LINE_FEATURES, COLLECTION_HEAD.replace("[", '[\n{"type": "Feature", "pr')),
    ],
    ids=[
        "one-line",
        "indented",
        "no-end",
        "no-commas",
        "last-comma",
        "cut",
        "not-a-feature",
        "broken",
    ],
)
def test_geojson_laid_out_otherwise_is_left_to_gdal(tmp_path, content):
    path = write(tmp_path, "f.geojson", content)
    assert feature_lines.read_feature_lines(path, readers.FileFormat.geojson, {}) is None


@pytest.mark.parametrize(
    "content",
    [
        _lines(LINE_FEATURES, COLLECTION_HEAD),  # the fourth feature brings new properties
        _lines(LINE_FEATURES, COLLECTION_HEAD)[:-40],  # cut short
        _lines(LINE_FEATURES, COLLECTION_HEAD, "\n"),  # no end
        "\n".join(_lines(LINE_FEATURES, COLLECTION_HEAD).rsplit(",\n", 1)),  # a comma missing
        _lines(
            LINE_FEATURES,
            COLLECTION_HEAD,
            '\n],\n"crs": {"type": "name", "properties": {"name": "EPSG:3857"}}\n}\n',
        ),
    ],
    ids=["late-properties", "cut", "no-end", "comma-missing", "late-crs"],
)
def test_what_the_line_reader_meets_past_its_first_batch_is_read_again_by_gdal(
    connection, tmp_path, monkeypatch, content
):
    """The import's result and report are those of the file read whole by one reader."""
    path = write(tmp_path, "f.geojson", content)
    whole = dataclasses.asdict(run(connection, path, dry_run=True)), report(connection)
    monkeypatch.setattr(common, "BATCH_ROWS", 2)
    source = feature_lines.read_feature_lines(
        path, readers.FileFormat.geojson, fields.header_mapping(None)
    )
    assert source is not None
    with pytest.raises(readers.Reread):
        _batches(source)
    result = run(connection, path, dry_run=True)
    assert (dataclasses.asdict(result), report(connection)) == whole


def test_geojson_saved_in_gbk_is_named_as_not_utf8(connection, tmp_path):
    """Neither reader takes it (orjson refuses the bytes, GDAL hands them on as they are):
    the report says what to do, and nothing is written."""
    advice = "save the file as UTF-8 (a Shapefile: pass its --encoding)"
    values = write(tmp_path, "v.geojson", _lines(LINE_FEATURES[:2], COLLECTION_HEAD), "gbk")
    result = run(connection, values)
    assert result.problem == f"v.geojson: name in features 1 to 2 is not UTF-8 text; {advice}"
    assert report(connection) == [(1, "", None, result.problem)]
    assert not result.written
    # 地址 is a property name in the fourth feature
    names = write(tmp_path, "n.geojson", _lines(LINE_FEATURES, COLLECTION_HEAD), "gbk")
    result = run(connection, names)
    assert result.problem == f"n.geojson: field names are not UTF-8 text; {advice}"
    assert not result.written


def test_a_feature_per_line_in_another_crs_is_refused_by_gdal(connection, tmp_path):
    head = COLLECTION_HEAD.replace(
        '"features"', '"crs": {"type": "name", "properties": {"name": "EPSG:3857"}},\n"features"'
    )
    result = run(connection, write(tmp_path, "f.geojson", _lines(LINE_FEATURES, head)))
    assert result.problem == "f.geojson: coordinates in EPSG:3857; reproject to EPSG:4326 first"


def test_locations_are_placed_in_districts_and_else_in_coarser_divisions(
    connection, session, tmp_path
):
    hefei, shushan = box(117.0, 31.6, 117.5, 32.0), box(117.15, 31.8, 117.25, 31.9)
    load_boundaries(
        session,
        [BoundaryFeature("340100", None, hefei), BoundaryFeature("340104", None, shushan)],
        on=date.today(),
    )
    session.flush()
    rows = [
        row("RF-PLACE-001", lon="117.2", lat="31.85").replace(",340104,", ",340100,"),
        row("RF-PLACE-002", lon="117.45", lat="31.65").replace(",340104,", ",340100,"),
        row("RF-PLACE-003", lon="117.45", lat="31.65"),
    ]
    result = run(connection, write(tmp_path, "p.csv", HEADER + "".join(rows)), partial=True)
    assert [(r[0], r[1]) for r in report(connection)] == [(4, "location")]
    placed = [stored(connection, f"RF-PLACE-00{n}") for n in (1, 2)]
    assert [(p["city_code"], p["district_code"]) for p in placed] == [
        ("340100", "340104"),
        ("340100", None),
    ]
    assert result.inserted == 2


def test_an_encoding_no_text_is_in_is_the_files_problem(connection, tmp_path):
    """rf import --encoding as the API's encoding=: a transform codec is named, not raised."""
    for name in ("a.csv", "a.geojson"):
        path = write(tmp_path, name, HEADER + row("RF-ENC-001"))
        result = run(connection, path, encoding="base64")
        assert result.problem == "'base64' is not a text encoding (e.g. utf-8, gbk, gb18030)"


def test_imports_with_entrances_keep_the_cluster_pyramid_exact(connection, tmp_path, monkeypatch):
    """A first load (the bulk path, keys put back after the rows), then a file that moves
    a work, changes its entrances (a wartime one among them) and hides another: after
    each, the pyramid equals a recomputation from the rows."""
    monkeypatch.setattr(writing, "BULK_ROWS", 2)
    header = HEADER.rstrip("\n") + ",entrances,visibility\n"

    def door(kind: str, lon: float) -> dict:
        return {"kind": kind, "location": {"type": "Point", "coordinates": [lon, 31.8264]}}

    def line(i: int, doors: list, visibility: str = "公开", lon: str = "117.2281") -> str:
        cells = f",{json_cell(doors)},{visibility}\n"
        return row(f"RF-CELL-00{i}", lon=lon).rstrip("\n") + cells

    first = [line(i, [door("vehicle", 117.2285), door("wartime", 117.2286)]) for i in range(3)]
    result = run(connection, write(tmp_path, "a.csv", header + "".join(first)))
    assert (result.inserted, result.errors) == (3, 0), report(connection)
    assert_pyramid_exact(connection)
    second = [
        line(0, [door("pedestrian", 117.2301)], lon="117.2301"),
        line(1, [door("vehicle", 117.2285)], visibility="不公开"),
        line(2, [door("wartime", 117.2286)]),
    ]
    result = run(connection, write(tmp_path, "b.csv", header + "".join(second)))
    assert (result.updated, result.errors) == (3, 0), report(connection)
    assert_pyramid_exact(connection)
