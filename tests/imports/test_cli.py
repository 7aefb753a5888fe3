"""`rf import`, `rf export` and `rf stats`, run as a clerk runs them."""

import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from app.imports import cli, staging

RF = str(Path(sys.executable).parent / "rf")
GOOD = (
    "工程编号,工程名称,地址,行政区划代码,经度,纬度,建设形式,战时功能,使用状态,停车位\n"
    "RF-CLI-001,天鹅湖人防地下车库,合肥市蜀山区怀宁路1号,340104,117.2281,31.8262,结建,人员掩蔽工程,在用,120\n"
    "RF-CLI-002,翡翠人防地下车库,合肥市蜀山区翡翠路2号,340104,117.2290,31.8270,结建,人员掩蔽工程,在建,80\n"
)


@pytest.fixture(scope="module")
def database_url(make_database):
    url = make_database()
    assert rf(url, "db", "upgrade").returncode == 0
    return url


def rf(database_url: str, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": database_url}
    return subprocess.run(
        [RF, *args], env=env, capture_output=True, text=True, timeout=300, cwd=cwd
    )


def test_import_twice_then_export_and_stats(database_url, tmp_path):
    path = tmp_path / "台账.csv"
    path.write_bytes(GOOD.encode("gbk"))
    dry = rf(database_url, "import", str(path), "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "2 inserted, 0 updated, 0 unchanged (would be)" in dry.stdout
    first = rf(database_url, "import", str(path))
    assert first.returncode == 0, first.stderr
    assert "gb18030" in first.stdout and "2 inserted" in first.stdout
    second = rf(database_url, "import", str(path))
    assert "0 inserted, 0 updated, 2 unchanged" in second.stdout
    assert "nothing changed" in second.stdout

    out = rf(database_url, "export", "-", "--format", "csv", "--status", "in_service")
    rows = list(csv.DictReader(out.stdout.lstrip("\ufeff").splitlines()))
    assert [r["code"] for r in rows] == ["RF-CLI-001"]
    assert rows[0]["peacetime_parking_spaces"] == "120"

    stats = rf(database_url, "stats")
    assert stats.returncode == 0, stats.stderr
    assert "合肥市" in stats.stdout and "200" in stats.stdout and "in_service" in stats.stdout


@pytest.mark.parametrize(
    ("option", "says"),
    [
        (["--admin-code", "349999"], "admin_code: 349999 is not a known GB/T 2260 division code"),
        (["--bbox", "118,31,117,32"], "bbox: west must not exceed east, nor south exceed north"),
    ],
)
def test_export_refuses_the_filters_the_api_refuses(database_url, option, says):
    """`rf export` reads its filters as GET /v1/facilities reads them, with the same words."""
    result = rf(database_url, "export", "-", "--format", "csv", *option)
    assert (result.returncode, result.stdout, result.stderr) == (1, "", f"rf: {says}\n")


def test_bad_file_fails_in_one_line_with_a_report(database_url, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text(GOOD.replace("117.2290", "东经117").replace("RF-CLI-001", "RF-CLI-101"))
    result = rf(database_url, "import", str(bad), cwd=tmp_path)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("rf: 1 error(s) in 1 row(s); nothing imported")
    assert len(result.stderr.strip().splitlines()) == 1
    with (tmp_path / "bad.errors.csv").open(encoding="utf-8-sig") as handle:
        assert list(csv.reader(handle)) == [
            ["row", "field", "value", "reason"],
            ["3", "经度", "东经117", "is not a number"],  # the file's own header
        ]
    chinese = rf(database_url, "import", str(bad), "--language", "zh", cwd=tmp_path)
    assert chinese.returncode == 1
    with (tmp_path / "bad.errors.csv").open(encoding="utf-8-sig") as handle:
        assert list(csv.reader(handle)) == [
            ["行", "列", "值", "原因"],
            ["3", "经度", "东经117", "不是数字"],
        ]
    partial = rf(database_url, "import", str(bad), "--partial", cwd=tmp_path)
    assert (
        partial.returncode == 0
        and "1 inserted" in partial.stdout
        and "1 rejected" in partial.stdout
    )

    missing = rf(database_url, "import", str(tmp_path / "nowhere.csv"))
    assert missing.returncode == 2 and "Traceback" not in missing.stderr
    truncated = tmp_path / "t.geojson"
    truncated.write_text('{"type": "FeatureCollection", "features": [{"type": "Feat')
    result = rf(database_url, "import", str(truncated), cwd=tmp_path)
    assert result.returncode == 1 and result.stderr.startswith("rf: t.geojson: cannot be read")
    assert len(result.stderr.strip().splitlines()) == 1


def test_uses_and_signs_of_the_works_imported(database_url, tmp_path):
    works = tmp_path / "设施.csv"
    works.write_text(GOOD.replace("RF-CLI-", "RF-CLU-"), encoding="utf-8")
    assert rf(database_url, "import", str(works)).returncode == 0
    uses = tmp_path / "平时用途.csv"
    uses.write_bytes(
        (
            "工程编号,用途类型,名称,开放时间,属性\n"
            'RF-CLU-001,停车场,天鹅湖地下停车场,24/7,"{""total_spaces"": 120}"\n'
            "RF-CLU-002,快递驿站,翡翠菜鸟驿站,Mo-Su 08:00-20:00,\n"
        ).encode("gbk")
    )
    first = rf(database_url, "import", str(uses), "--table", "uses", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "gb18030" in first.stdout and "2 inserted, 0 updated, 0 unchanged" in first.stdout
    second = rf(database_url, "import", str(uses), "--table", "uses", cwd=tmp_path)
    assert "0 inserted, 0 updated, 2 unchanged" in second.stdout
    signs = tmp_path / "标识.csv"
    signs.write_text("工程编号,标识类型,状态,安装日期\nRF-CLU-009,标识牌,已安装,2021-05-20\n")
    refused = rf(
        database_url, "import", str(signs), "--table", "signs", "--language", "zh", cwd=tmp_path
    )
    assert refused.returncode != 0 and "nothing imported" in refused.stderr
    with (tmp_path / "标识.errors.csv").open(encoding="utf-8-sig") as handle:
        assert list(csv.reader(handle)) == [
            ["行", "列", "值", "原因"],
            ["2", "工程编号", "RF-CLU-009", "没有登记编号为 RF-CLU-009 的设施"],
        ]


def test_the_cli_session_has_room_for_the_staging_tables(database_url, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", database_url)
    with cli._connection() as connection:
        assert connection.execute(text("SHOW temp_buffers")).scalar() == staging.TEMP_BUFFERS


def test_export_of_a_time_from_before_the_range_check(make_database, tmp_path):
    import pyogrio
    from sqlalchemy import create_engine

    from tests.conftest import write_past_range_check

    url = make_database()
    assert rf(url, "db", "upgrade").returncode == 0
    path = tmp_path / "台账.csv"
    path.write_text(GOOD)
    assert rf(url, "import", str(path)).returncode == 0
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(
            text(
                "UPDATE facility SET verified_at = '2024-05-10T01:00:00Z' WHERE code = 'RF-CLI-002'"
            )
        )
        old = connection.execute(text("SELECT id FROM facility WHERE code = 'RF-CLI-001'"))
        write_past_range_check(
            connection, "facility", "verified_at", old.scalar(), "0001-01-01T00:00:00+14"
        )
    engine.dispose()
    for suffix in ("gpkg", "fgb", "csv", "geojson"):
        out = tmp_path / f"x.{suffix}"
        result = rf(url, "export", str(out), "--no-progress")
        assert result.returncode == 0 and "exported 2 facilities" in result.stdout, result.stderr
    meta, _, _, values = pyogrio.raw.read(tmp_path / "x.gpkg", datetime_as_string=True)
    columns = dict(zip(meta["fields"], values, strict=True))
    assert list(columns["verified_at"]) == [None, "2024-05-10T01:00:00Z"]
    assert "0001-12-31 10:00:00+00 BC" in (tmp_path / "x.csv").read_text("utf-8-sig")
