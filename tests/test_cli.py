"""The `rf` command, run as a user runs it, against its own throwaway database."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

RF = str(Path(sys.executable).parent / "rf")


@pytest.fixture(scope="module")
def database_url(make_database):
    return make_database()


def rf(database_url: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": database_url}
    return subprocess.run([RF, *args], env=env, capture_output=True, text=True, timeout=300)


def scalar(database_url: str, sql: str):
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            return connection.execute(text(sql)).scalar()
    finally:
        engine.dispose()


def test_upgrade_boundaries_and_demo(database_url, tmp_path):
    assert rf(database_url, "db", "upgrade").returncode == 0
    status = rf(database_url, "db", "status")
    assert status.stdout.count("(head)") == 2

    shushan = {
        "type": "Feature",
        "properties": {"code": "340104", "name": "蜀山区"},
        "geometry": {
            "type": "Polygon",
            "coordinates": [
                [[116.9, 31.6], [117.27, 31.6], [117.27, 32.0], [116.9, 32.0], [116.9, 31.6]]
            ],
        },
    }
    path = tmp_path / "shushan.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [shushan]}))
    loaded = rf(database_url, "divisions", "import", str(path))
    assert loaded.returncode == 0, loaded.stderr
    assert "1 updated" in loaded.stdout

    demo = rf(database_url, "demo", "load", "--size", "300")
    assert demo.returncode == 0, demo.stderr
    assert scalar(database_url, "SELECT count(*) FROM facility") == 300
    # Every demo facility inside the loaded Shushan square now says so.
    misplaced = scalar(
        database_url,
        "SELECT count(*) FROM facility f JOIN division d ON d.code = '340104' "
        "WHERE ST_Covers(d.boundary, f.location) AND f.district_code IS DISTINCT FROM '340104'",
    )
    assert misplaced == 0

    again = rf(database_url, "demo", "load", "--if-empty")
    assert again.returncode == 0
    assert scalar(database_url, "SELECT count(*) FROM facility") == 300


def test_failures_are_one_line_without_traceback(database_url, tmp_path):
    broken = tmp_path / "broken.geojson"
    broken.write_text('{"type": "FeatureColl')
    for result in (
        rf(database_url, "divisions", "import", str(broken)),
        rf("postgresql://nobody@/none?host=/nonexistent", "db", "upgrade"),
    ):
        assert result.returncode == 1
        assert "Traceback" not in result.stderr
        assert result.stderr.startswith("rf: ")
        assert len(result.stderr.strip().splitlines()) == 1


def test_divisions_added_from_boundaries_hold_from_their_edition(database_url, tmp_path):
    assert rf(database_url, "db", "upgrade").returncode == 0
    loaded = rf(database_url, "divisions", "import-cnmaps", "--prefix", "3402")
    assert loaded.returncode == 0, loaded.stderr
    assert str(scalar(database_url, "SELECT valid_from FROM division WHERE code = '340210'")) == (
        "2020-12-31"
    )
    square = [[118.3, 31.3], [118.4, 31.3], [118.4, 31.4], [118.3, 31.4], [118.3, 31.3]]
    feature = {
        "type": "Feature",
        "properties": {"code": "340299", "name": "试验区"},
        "geometry": {"type": "Polygon", "coordinates": [square]},
    }
    path = tmp_path / "new.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}))
    added = rf(database_url, "divisions", "import", str(path), "--valid-from", "2024-01-01")
    assert added.returncode == 0, added.stderr
    assert str(scalar(database_url, "SELECT valid_from FROM division WHERE code = '340299'")) == (
        "2024-01-01"
    )


def test_commands_write_utf8_whatever_the_clients_default_encoding(database_url, tmp_path):
    # libpq takes PGCLIENTENCODING (as a role's default) over the server's encoding; an
    # import sends its file's UTF-8 to COPY as bytes (db.session.command_connection).
    assert rf(database_url, "db", "upgrade").returncode == 0
    path = tmp_path / "works.csv"
    path.write_text(
        "code,name,address,admin_code,lon,lat,construction_form,wartime_function,status\n"
        "RF-340104-E00001,天鹅湖人防车库,合肥市蜀山区怀宁路,340104,117.23,31.82,"
        "attached,personnel_shelter,in_service\n",
        encoding="utf-8",
    )
    env = {**os.environ, "DATABASE_URL": database_url, "PGCLIENTENCODING": "GBK"}
    imported = subprocess.run(
        [RF, "import", str(path)], env=env, capture_output=True, text=True, timeout=300
    )
    assert imported.returncode == 0, imported.stderr
    name = "SELECT name || address FROM facility WHERE code = 'RF-340104-E00001'"
    assert scalar(database_url, name) == "天鹅湖人防车库合肥市蜀山区怀宁路"
