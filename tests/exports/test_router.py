"""GET /v1/export through the real app."""

import csv
import io
import json
import sqlite3
import subprocess
import tempfile

import pyogrio
import pytest
from sqlalchemy import text

from app import demo
from tests.conftest import write_past_range_check


@pytest.mark.parametrize("file_format", ["geojson", "ndjson", "csv", "gpkg", "fgb"])
def test_export_formats_open_in_gdal(connection, client, tmp_path, file_format):
    demo.load(connection, size=40, seed=11)
    response = client.get("/v1/export", params={"format": file_format, "admin_code": "340100"})
    assert response.status_code == 200, response.text
    assert "attachment" in response.headers["content-disposition"]
    path = tmp_path / f"export.{file_format}"
    path.write_bytes(response.content)
    hefei = connection.execute(
        text("SELECT count(*) FROM facility WHERE city_code = '340100' AND deleted_at IS NULL")
    ).scalar()
    info = pyogrio.read_info(
        path,
        **({"X_POSSIBLE_NAMES": "lon", "Y_POSSIBLE_NAMES": "lat"} if file_format == "csv" else {}),
    )
    assert info["features"] in (hefei, -1)
    _, _, geometry, values = pyogrio.raw.read(
        path,
        **({"X_POSSIBLE_NAMES": "lon", "Y_POSSIBLE_NAMES": "lat"} if file_format == "csv" else {}),
    )
    assert len(geometry) == hefei > 0
    assert all(code.startswith("RF-3401") for code in values[0])


def test_export_needs_a_role_that_reads_restricted_fields(client_for):
    assert client_for(None).get("/v1/export").status_code == 401
    assert client_for("operator", facility_ids=[1]).get("/v1/export").status_code == 403
    assert client_for("gis").get("/v1/export?format=ndjson").status_code == 200
    bad = client_for("gis").get("/v1/export?format=shp")
    assert bad.status_code == 422 and bad.headers["content-type"] == "application/problem+json"


def test_export_filter_out_of_range_is_a_problem_not_a_broken_stream(client):
    response = client.get("/v1/export", params={"min_capacity": 2**31})
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"


def _verified_at(path, file_format: str) -> dict[str, str | None]:
    """code -> verified_at as the file writes it."""
    if file_format == "csv":
        rows = csv.DictReader(io.StringIO(path.read_text("utf-8-sig")))
        return {r["code"]: r["verified_at"] or None for r in rows}
    if file_format in ("geojson", "ndjson"):
        text_ = path.read_text()
        features = (
            json.loads(text_)["features"]
            if file_format == "geojson"
            else [json.loads(line) for line in text_.splitlines()]
        )
        return {f["properties"]["code"]: f["properties"]["verified_at"] for f in features}
    meta, _, _, values = pyogrio.raw.read(path, datetime_as_string=True)
    columns = dict(zip(meta["fields"], values, strict=True))
    return dict(zip(columns["code"], columns["verified_at"], strict=True))


_AS_JSON = [
    "1900-01-01T00:00:00+00:00",
    "2100-12-31T23:59:59.999999+00:00",
    "0001-12-31T10:00:00+00:00 BC",
]


# GeoPackage and FlatGeobuf hold times to the millisecond, and none before year 1.
_AS_GIS = ["1900-01-01T00:00:00Z", "2100-12-31T23:59:59.999Z", None]


EXTREMES = {
    "geojson": _AS_JSON,
    "ndjson": _AS_JSON,
    "csv": ["1900-01-01 00:00:00+00", "2100-12-31 23:59:59.999999+00", "0001-12-31 10:00:00+00 BC"],
    "gpkg": _AS_GIS,
    "fgb": _AS_GIS,
}


@pytest.mark.parametrize("file_format", ["geojson", "ndjson", "csv", "gpkg", "fgb"])
def test_exports_of_times_at_the_ends_of_the_range_and_beyond(
    client, create, connection, tmp_path, file_format
):
    _, last, old = create(verified_at="1900-01-01T00:00:00Z"), create(), create()
    # The last instant of the range lies in the future, which the API refuses to record.
    connection.execute(
        text("UPDATE facility SET verified_at = '2100-12-31T23:59:59.999999Z' WHERE id = :id"),
        {"id": last["id"]},
    )
    # Stored before the range check: a day of 1 BC, which neither Python nor GDAL holds.
    write_past_range_check(
        connection, "facility", "verified_at", old["id"], "0001-01-01T00:00:00+14"
    )
    response = client.get("/v1/export", params={"format": file_format})
    assert response.status_code == 200, response.text
    path = tmp_path / f"export.{file_format}"
    path.write_bytes(response.content)
    assert list(_verified_at(path, file_format).values()) == EXTREMES[file_format]


def test_a_geopackage_export_opens_in_debians_gdal_without_a_warning(connection, client, tmp_path):
    demo.load(connection, size=30, seed=5)
    response = client.get("/v1/export", params={"format": "gpkg"})
    assert response.status_code == 200
    path = tmp_path / "export.gpkg"
    path.write_bytes(response.content)
    # GDAL 3.6 (Debian 12, installed by scripts/test) warns about GeoPackage 1.4.
    info = subprocess.run(
        ["ogrinfo", "-ro", "-so", "-al", str(path)], capture_output=True, text=True, check=True
    )
    assert "Warning" not in info.stdout + info.stderr, info.stderr
    count = connection.execute(text("SELECT count(*) FROM facility WHERE deleted_at IS NULL"))
    assert f"Feature Count: {count.scalar()}" in info.stdout
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone() == (10200,)


@pytest.mark.parametrize("file_format", ["gpkg", "fgb", "geojson"])
def test_an_export_is_sent_whole_whatever_the_range_asked(
    client, create, tmp_path, monkeypatch, file_format
):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # where builds wait
    create(), create()
    whole = client.get("/v1/export", params={"format": file_format})
    assert whole.headers["accept-ranges"] == "none"
    ranged = client.get(
        "/v1/export", params={"format": file_format}, headers={"Range": "bytes=0-99"}
    )
    assert ranged.status_code == 200
    assert "content-range" not in ranged.headers
    assert len(ranged.content) > 100
    if file_format != "geojson":
        assert int(ranged.headers["content-length"]) == len(ranged.content)
    assert list(tmp_path.iterdir()) == [], "a build stays on disk"


def test_ndjson_is_labelled_newline_delimited_json(client, create):
    create(), create()
    response = client.get("/v1/export", params={"format": "ndjson"})
    assert response.headers["content-type"] == "application/x-ndjson"
    assert b"\x1e" not in response.content
    lines = response.text.splitlines()
    assert len(lines) == 2
    assert all(json.loads(line)["type"] == "Feature" for line in lines)
