"""Exports in a map app's system (every format) or, for GIS files, in a CGCS2000 3-degree
Gauss-Krüger zone, as planning and surveying offices work."""

import csv
import io
import json

import pyogrio
import pytest
import shapely
from pyproj import Geod, Transformer
from sqlalchemy import create_engine, text

from app import demo
from app.core.geo import CoordSys, Positions, position_from_wgs84
from app.exports import service as exports
from app.exports.service import Export, ExportFormat
from app.facilities.repository import FacilityFilter
from app.imports import fields, service
from tests.conftest import run_migrations

GEOD = Geod(ellps="WGS84")

HEFEI = {"admin_code": "340104"}


@pytest.fixture
def facility(create):
    return create()


def stored(client, facility) -> tuple[float, float]:
    return tuple(client.get(f"/v1/facilities/{facility['id']}").json()["location"]["coordinates"])


@pytest.mark.parametrize("coordsys", ["gcj02", "bd09"])
@pytest.mark.parametrize("file_format", ["geojson", "ndjson", "csv"])
def test_text_formats_in_the_callers_system(client, facility, file_format, coordsys):
    response = client.get(
        "/v1/export", params={"format": file_format, "coordsys": coordsys, **HEFEI}
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-crs"] == f"<urn:rf-registry:crs:{coordsys}>"
    want = position_from_wgs84(*stored(client, facility), CoordSys(coordsys))
    if file_format == "csv":
        row = next(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
        got = (float(row["lon"]), float(row["lat"]))
        entrance = json.loads(row[fields.ENTRANCES])
    else:
        text = response.text
        feature = (
            json.loads(text)["features"][0]
            if file_format == "geojson"
            else json.loads(text.splitlines()[0])
        )
        got = tuple(feature["geometry"]["coordinates"])
        entrance = feature["properties"][fields.ENTRANCES]
    assert got == pytest.approx(want, abs=1e-7)
    assert entrance[0]["location"]["coordinates"] == pytest.approx(
        list(position_from_wgs84(117.2285, 31.8264, CoordSys(coordsys))), abs=1e-7
    )


@pytest.mark.parametrize("file_format", ["gpkg", "fgb"])
def test_gis_files_in_a_gauss_kruger_zone(client, facility, tmp_path, file_format):
    response = client.get("/v1/export", params={"format": file_format, "crs": "EPSG:4548", **HEFEI})
    assert response.status_code == 200, response.text
    path = tmp_path / f"export.{file_format}"
    path.write_bytes(response.content)
    info = pyogrio.read_info(path)
    assert info["crs"] == "EPSG:4548"
    _, _, geometry, _ = pyogrio.raw.read(path)
    point = shapely.from_wkb(geometry[0])
    to_zone = Transformer.from_crs(4326, 4548, always_xy=True)
    easting, northing = to_zone.transform(*stored(client, facility))
    # Hefei, 117.23 E, lies just east of the zone's 117 E meridian: 500 km plus a little
    assert 500_000 < point.x < 530_000 and 3_500_000 < point.y < 3_600_000
    assert (point.x, point.y) == pytest.approx((easting, northing), abs=0.01)


def test_gis_files_in_a_shifted_system_claim_no_crs(client, facility, tmp_path):
    response = client.get("/v1/export", params={"format": "gpkg", "coordsys": "gcj02", **HEFEI})
    assert response.status_code == 200, response.text
    path = tmp_path / "export.gpkg"
    path.write_bytes(response.content)
    assert pyogrio.read_info(path)["crs"] is None  # not EPSG:4326: that would be a lie
    _, _, geometry, _ = pyogrio.raw.read(path)
    point = shapely.from_wkb(geometry[0])
    want = position_from_wgs84(*stored(client, facility), CoordSys.gcj02)
    assert (point.x, point.y) == pytest.approx(want, abs=1e-9)


@pytest.mark.parametrize(
    ("params", "says"),
    [
        ({"format": "geojson", "crs": "EPSG:4548"}, "needs gpkg or fgb"),
        ({"format": "csv", "crs": "EPSG:4548"}, "needs gpkg or fgb"),
        ({"format": "gpkg", "crs": "EPSG:4326"}, "not a CGCS2000 3-degree Gauss-Krüger zone"),
        ({"format": "gpkg", "crs": "EPSG:4555"}, "EPSG:4513 to EPSG:4554"),
        ({"format": "gpkg", "crs": "EPSG:4548", "coordsys": "gcj02"}, "exclude each other"),
    ],
)
def test_refused_combinations(client, params, says):
    response = client.get("/v1/export", params=params)
    assert response.status_code == 400
    assert says in response.json()["detail"]


@pytest.mark.parametrize("file_format", [ExportFormat.csv, ExportFormat.geojson])
def test_a_gcj02_export_imports_back_with_its_coordsys(
    connection, make_database, tmp_path, file_format
):
    """An Amap-coordinate ledger: exported in GCJ-02, imported with coordsys=gcj02 into an
    empty registry, every position lands within centimetres of where it was."""
    demo.load(connection, size=30, seed=5)
    path = tmp_path / f"amap{file_format.suffix}"
    exports.write_file(
        connection, Export(FacilityFilter(), file_format, Positions(CoordSys.gcj02)), path
    )
    target = create_engine(make_database())
    with target.begin() as fresh:
        run_migrations(fresh)
    try:
        with target.connect() as other:
            transaction = other.begin()
            result = service.import_file(
                other, path, service.ImportOptions(coordsys=CoordSys.gcj02)
            )
            assert (result.errors, result.inserted) == (0, 30), list(service.errors(other))
            before, after = (dict(c.execute(text(POSITIONS)).all()) for c in (connection, other))
            transaction.rollback()
    finally:
        target.dispose()
    assert before.keys() == after.keys() and len(before) >= 30
    for key, (lon, lat) in before.items():
        assert GEOD.inv(lon, lat, *after[key])[2] < 0.05, key


# Every facility and entrance position, by registry code (and entrance order).
POSITIONS = """
SELECT f.code, ARRAY[ST_X(f.location), ST_Y(f.location)] FROM facility f
UNION ALL
SELECT f.code || '/' || row_number() OVER (PARTITION BY f.id ORDER BY e.id),
       ARRAY[ST_X(e.location), ST_Y(e.location)]
FROM facility f JOIN entrance e ON e.facility_id = f.id
"""
