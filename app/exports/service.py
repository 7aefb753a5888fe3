"""Exports: the one code path behind `rf export` and `GET /v1/export`.

Rows come from a server-side cursor in the order of their registry codes (ids differ
between databases, codes do not), so memory stays flat for a million rows and two
exports of the same data are the same file. PostgreSQL builds the GeoJSON; GeoPackage
and FlatGeobuf are written by GDAL from Arrow batches into a temporary file."""

import csv
import io
import os
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from sqlalchemy import ColumnElement, Connection
from sqlalchemy.orm import Session

from app.core.errors import BadRequest
from app.core.formats import XLSX, spreadsheet_row
from app.core.geo import WGS84, CoordSys, Positions, gauss_kruger_srid
from app.exports import repository, workbook
from app.facilities.repository import FacilityFilter

CHUNK_ROWS = 5_000
Progress = Callable[[int], None]


class ExportFormat(StrEnum):
    geojson = "geojson"
    ndjson = "ndjson"
    csv = "csv"
    gpkg = "gpkg"
    fgb = "fgb"
    xlsx = "xlsx"

    @property
    def suffix(self) -> str:
        """A file's suffix: the format's name."""
        return f".{self.value}"


MEDIA_TYPES = {
    ExportFormat.geojson: "application/geo+json",
    # A GeoJSON feature a line, as `rf import` and GDAL's GeoJSONSeq read it: newline-
    # delimited JSON, not RFC 8142's application/geo+json-seq (a record separator before
    # each feature).
    ExportFormat.ndjson: "application/x-ndjson",
    ExportFormat.csv: "text/csv; charset=utf-8",
    ExportFormat.gpkg: "application/geopackage+sqlite3",
    ExportFormat.fgb: "application/flatgeobuf",
    ExportFormat.xlsx: XLSX,
}
# Written whole to a file, then sent: GDAL and the XLSX writer need a file of their own.
FILE_FORMATS = (ExportFormat.gpkg, ExportFormat.fgb, ExportFormat.xlsx)
_DRIVERS = {ExportFormat.gpkg: "GPKG", ExportFormat.fgb: "FlatGeobuf"}
# GDAL writes GeoPackage 1.4 by default, which GDAL 3.6 (Debian 12) and the QGIS built on
# it open with a warning; 1.2 is read everywhere and the file uses nothing newer.
_DATASET_OPTIONS = {ExportFormat.gpkg: {"VERSION": "1.2"}, ExportFormat.fgb: {}}
LAYER = "facility"


@dataclass(frozen=True)
class ExportFilter:
    """The list filters, narrowed to the facilities a caller may export in full."""

    where: FacilityFilter
    scope: ColumnElement[bool] | None = None

    def clauses(self) -> list[ColumnElement[bool]]:
        return [*self.where.clauses(), *([self.scope] if self.scope is not None else [])]


Filter = FacilityFilter | ExportFilter


@dataclass(frozen=True)
class Export:
    """What one export writes: which facilities, in which format, with their positions in
    which system; `progress` is told the rows of each batch written."""

    where: Filter
    file_format: ExportFormat
    positions: Positions = WGS84
    progress: Progress | None = None

    def tick(self, rows: int) -> None:
        if self.progress is not None:
            self.progress(rows)


def probe(session: Session, where: Filter) -> None:
    repository.probe(session.connection(), where)


def prepare(connection: Connection) -> None:
    """A stable snapshot in UTC: one consistent picture even while others write, and
    times that read the same from any server."""
    repository.export_snapshot(connection)


def stream_text(connection: Connection, export: Export) -> Iterator[bytes]:
    """GeoJSON, NDJSON or CSV, as UTF-8 chunks."""
    if export.file_format == ExportFormat.csv:
        yield from _csv(connection, export)
        return
    features = repository.export_features(connection, export.where, CHUNK_ROWS, export.positions)
    if export.file_format == ExportFormat.ndjson:
        for chunk in features:
            yield ("\n".join(chunk) + "\n").encode()
            export.tick(len(chunk))
        return
    yield b'{"type":"FeatureCollection","features":[\n'
    first = True
    for chunk in features:
        yield (("" if first else ",\n") + ",\n".join(chunk)).encode()
        first = False
        export.tick(len(chunk))
    yield b"\n]}\n"


def _csv(connection: Connection, export: Export) -> Iterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(repository.CSV_HEADER)
    # A UTF-8 byte order mark: Excel, which Chinese offices open CSVs in, reads the file
    # as GBK without one. Our own importer and GDAL skip it.
    yield b"\xef\xbb\xbf" + buffer.getvalue().encode()
    rows_as_text = repository.export_rows_as_text(
        connection, export.where, CHUNK_ROWS, export.positions
    )
    for rows in rows_as_text:
        buffer.seek(0)
        buffer.truncate()
        writer.writerows(spreadsheet_row(row) for row in rows)
        yield buffer.getvalue().encode()
        export.tick(len(rows))


def write_gis(connection: Connection, export: Export, path: Path) -> None:
    """GeoPackage or FlatGeobuf at `path`, fed to GDAL batch by batch."""
    import pyarrow as pa
    import pyogrio.raw

    schema = repository.arrow_schema()
    failed: list[Exception] = []

    def batches() -> Iterator[pa.RecordBatch]:
        try:
            for columns in repository.export_columns(
                connection, export.where, CHUNK_ROWS, export.positions
            ):
                yield pa.RecordBatch.from_arrays(
                    [pa.array(v, type=f.type) for v, f in zip(columns, schema, strict=True)],
                    schema=schema,
                )
                export.tick(len(columns[0]))
        except Exception as exc:
            failed.append(exc)
            raise

    reader = pa.RecordBatchReader.from_batches(schema, batches())
    try:
        pyogrio.raw.write_arrow(
            reader,
            str(path),
            layer=LAYER,
            driver=_DRIVERS[export.file_format],
            geometry_name="geometry",
            geometry_type="Point",
            crs=_file_crs(export.positions),
            dataset_options=_DATASET_OPTIONS[export.file_format],
        )
    except RuntimeError:
        # GDAL reports a failure of the batches (a lost database, a value Arrow refuses)
        # only as "Error while accessing batch from stream": the failure itself is raised,
        # so that it gets its own answer (503, 422 ...) instead of a 500.
        if failed:
            raise failed[0] from None
        raise


def _file_crs(positions: Positions) -> str | None:
    """The CRS a GIS file declares. GCJ-02 and BD-09 have no EPSG code: such a file
    declares none (an undefined geographic system) rather than pass for WGS 84."""
    if positions.coordsys.shifted:
        return None
    return f"EPSG:{positions.srid}"


def positions_for(file_format: ExportFormat, coordsys: CoordSys, crs: str | None) -> Positions:
    """What an export writes positions in: a caller's system, or a CGCS2000 3-degree
    Gauss-Krüger zone (`crs`, EPSG:4513-4554) for the GIS files, which carry it. GeoJSON
    is longitude/latitude by RFC 7946 and CSV has lon/lat columns, so they take no
    projection."""
    if crs is None:
        return Positions(coordsys)
    srid = gauss_kruger_srid(crs, field="crs")
    if file_format not in _DRIVERS:
        raise BadRequest(
            f"crs: {file_format.value} holds longitude/latitude; a projected system needs "
            "gpkg or fgb, which carry it"
        )
    if coordsys != CoordSys.wgs84:
        raise BadRequest("crs and coordsys exclude each other: a projection reads WGS 84")
    return Positions(srid=srid)


def write_file(connection: Connection, export: Export, path: Path) -> None:
    prepare(connection)
    # Written beside `path`, then renamed over it: a half-written file must not stay, and
    # GDAL refuses to write over an existing file.
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp{export.file_format.suffix}")
    tmp.unlink(missing_ok=True)
    try:
        _write_new(connection, export, tmp)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)


def _write_new(connection: Connection, export: Export, path: Path) -> None:
    """Any format, into a file that does not exist yet."""
    if export.file_format == ExportFormat.xlsx:
        workbook.write_xlsx(
            connection, export.where, path, positions=export.positions, progress=export.progress
        )
    elif export.file_format in _DRIVERS:
        write_gis(connection, export, path)
    else:
        with path.open("wb") as out:
            out.writelines(stream_text(connection, export))


def to_temp_file(connection: Connection, export: Export) -> Path:
    """For the API: GDAL and the XLSX writer need a file; the response streams it, then
    deletes it."""
    handle, name = tempfile.mkstemp(prefix="rf-export-", suffix=export.file_format.suffix)
    os.close(handle)
    path = Path(name)
    path.unlink()
    try:
        prepare(connection)
        _write_new(connection, export, path)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path
