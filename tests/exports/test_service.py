import csv
import io
import json

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from app import demo
from app.exports import service as exports
from app.exports.service import Export, ExportFormat
from app.facilities.repository import FacilityFilter


def test_exports_carry_the_visibility(connection):
    demo.load(connection, size=200, seed=3)
    exports.prepare(connection)
    body = b"".join(exports.stream_text(connection, Export(FacilityFilter(), ExportFormat.csv)))
    rows = list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))
    functions = {(r["wartime_function"], r["visibility"]) for r in rows}
    assert ("command_post", "restricted") in functions
    assert ("personnel_shelter", "public") in functions
    assert ("command_post", "public") not in functions


def test_export_streams_features(connection):
    demo.load(connection, size=20, seed=3)
    exports.prepare(connection)
    body = b"".join(exports.stream_text(connection, Export(FacilityFilter(), ExportFormat.geojson)))
    collection = json.loads(body)
    codes = [f["properties"]["code"] for f in collection["features"]]
    assert len(codes) == 20 and codes == sorted(codes)


@pytest.mark.parametrize("file_format", [ExportFormat.gpkg, ExportFormat.fgb])
def test_a_failure_while_gdal_reads_the_rows_is_raised_as_itself(
    connection, engine, tmp_path, file_format
):
    """GDAL reports a failed batch only as a RuntimeError ("Error while accessing batch
    from stream"): the export raises the failure itself, so that the API answers it as
    such (here 503, the database busy), not as a 500."""
    with engine.connect() as other:
        other.execute(text("LOCK TABLE facility IN ACCESS EXCLUSIVE MODE"))
        connection.execute(text("SET LOCAL lock_timeout = '100ms'"))
        with pytest.raises(OperationalError, match="lock timeout"):
            exports.write_gis(connection, Export(FacilityFilter(), file_format), tmp_path / "f")
        other.rollback()
