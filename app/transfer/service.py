"""Bulk import: read a file, stage it, check every row with the registry's rules, and
upsert by registry code. The caller owns the transaction: it commits when
`ImportResult.committable`, and rolls back otherwise (always, for a dry run).

Decisions, for the clerks this serves:
- all-or-nothing by default: one bad row and nothing is written; `partial` writes the
  good rows and reports the rest;
- the registry code is the key: a known code updates that facility, a new one adds it;
  a row equal to the stored facility is left alone, so the same file twice changes
  nothing the second time;
- a column the file lacks leaves the stored value alone; a column it has, with an empty
  cell, clears the value (as null does in PATCH). entrances and protection_units
  columns replace the lists as wholes, as the API does;
- geometry comes from lon/lat columns, a WKT column, or the GIS layer's own geometry;
  a polygon is taken as the footprint and its inner point as the location, unless
  lon/lat columns say otherwise."""

import contextlib
import hashlib
import json
import queue
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, NamedTuple, Protocol, TypeVar

import numpy as np
import shapely
from pydantic import TypeAdapter, ValidationError
from shapely.geometry.base import BaseGeometry
from sqlalchemy import Connection, text
from sqlalchemy.orm import Session

from app.audit import service as audit
from app.core.geo import CHINA_BOUNDS, Areal, CoordSys, in_china, position_to_wgs84, to_wgs84
from app.core.schemas import NUL, NUL_MESSAGE
from app.facilities import rules
from app.facilities.models import EntranceKind
from app.facilities.rules import (
    AREA_MAX,
    MAX_ENTRANCES,
    MAX_PROTECTION_UNITS,
    PERSONS_MAX,
    SHORT_TEXT_MAX,
)
from app.facilities.schemas import Entrances, ProtectionUnits
from app.transfer import fields, repository
from app.transfer.readers import Batch, FileFormat, FileProblem, Reread, open_source

REQUIRED_FOR_NEW = tuple(c.name for c in fields.COLUMNS if c.required)
_ENTRANCES = TypeAdapter(Entrances)
_UNITS = TypeAdapter(ProtectionUnits)
_FOOTPRINT = TypeAdapter(Areal)
_SHIFTED = (CoordSys.gcj02, CoordSys.bd09)
_VALUE_CHARS = 200
T = TypeVar("T")


@dataclass
class ImportOptions:
    file_format: FileFormat | None = None
    encoding: str | None = None
    coordsys: CoordSys = CoordSys.wgs84
    mapping: dict[str, str] | None = None  # checked entries over the default mapping
    layer: str | None = None
    partial: bool = False
    dry_run: bool = False


@dataclass
class ImportResult:
    file: str
    sha256: str = ""
    format: str = ""
    encoding: str | None = None
    rows: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0  # rows with at least one error
    errors: int = 0
    columns: dict[str, str] = field(default_factory=dict)  # header -> field
    ignored_columns: list[str] = field(default_factory=list)
    problem: str | None = None  # the file as a whole could not be read or used
    partial: bool = False
    dry_run: bool = False

    @property
    def written(self) -> bool:
        """Whether facilities were (in a dry run: would be) written."""
        return self.inserted + self.updated > 0

    @property
    def committable(self) -> bool:
        return not self.dry_run and self.problem is None and (self.partial or not self.errors)

    def summary(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "sha256": self.sha256,
            "format": self.format,
            "rows": self.rows,
            "inserted": self.inserted,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "rejected": self.rejected,
            "errors": self.errors,
            "partial": self.partial,
            "dry_run": self.dry_run,
        }


class Progress(Protocol):
    def stage(self, name: str, total: int | None) -> None: ...

    def advance(self, rows: int) -> None: ...


class _Silent:
    def stage(self, name: str, total: int | None) -> None:
        pass

    def advance(self, rows: int) -> None:
        pass


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 24):
            digest.update(chunk)
    return digest.hexdigest()


def import_file(
    connection: Connection,
    path: Path,
    options: ImportOptions,
    *,
    progress: Progress | None = None,
) -> ImportResult:
    progress = progress or _Silent()
    result = ImportResult(
        file=path.name, partial=options.partial, dry_run=options.dry_run, sha256=file_sha256(path)
    )
    repository.create_staging(connection)
    try:
        _stage(connection, path, options, result, progress)
    except FileProblem as problem:
        result.problem = problem.detail
        repository.add_errors(connection, [(problem.row, "", None, problem.detail)])
        result.errors, result.rejected = repository.error_count(connection)
        return result
    progress.stage("checking", None)
    present = _present(result.columns)
    if fields.UNITS in present:
        repository.sum_units(
            connection, totals_given=present & {"shelter_area", "capacity_persons"}
        )
    repository.check_rows(connection)
    repository.place(connection, with_boundaries=repository.boundaries_loaded(connection))
    missing = [name for name in REQUIRED_FOR_NEW if name not in present]
    if not ({fields.LON, fields.LAT} <= present or fields.WKT in present or "geometry" in present):
        missing.append("location (lon and lat, wkt, or a GIS geometry)")
    if missing and (new := repository.new_codes(connection)):
        problem = (
            f"missing required column(s): {', '.join(missing)}; {new} row(s) have codes that "
            "are not registered yet, and a new facility needs them"
        )
        result.problem = problem
        repository.add_errors(connection, [(None, ", ".join(missing), None, problem)])
    result.errors, result.rejected = repository.error_count(connection)
    if result.problem or (result.errors and not options.partial):
        return result

    progress.stage("writing", None)
    # A dry run writes for real inside a savepoint, so that its counts are exact and every
    # constraint has had its say, then takes it back; the staging and the report stay.
    savepoint = connection.begin_nested() if options.dry_run else None
    repository.find_child_changes(
        connection, entrances=fields.ENTRANCES in present, units=fields.UNITS in present
    )
    rows = result.rows - result.rejected
    # facility_figure is written by the statistics trigger of the facilities' INSERT.
    with (
        repository.built_after(connection, "facility", rows) as into_empty,
        repository.built_after(connection, "facility_figure", rows),
    ):
        id_base = repository.reserve_ids(connection) if into_empty else None
        result.inserted, result.updated = repository.upsert(connection, id_base=id_base)
    with contextlib.ExitStack() as children:
        for table, field in (("entrance", fields.ENTRANCES), ("protection_unit", fields.UNITS)):
            if field in present:
                children.enter_context(repository.built_after(connection, table, result.inserted))
        repository.write_children(
            connection,
            entrances=fields.ENTRANCES in present,
            units=fields.UNITS in present,
            id_base=id_base,
        )
    result.unchanged = result.rows - result.rejected - result.inserted - result.updated
    if savepoint is not None:
        savepoint.rollback()
    else:
        repository.analyze_if_large(connection, result.inserted + result.updated)
    return result


def errors(connection: Connection) -> Iterator[tuple[int | None, str, str | None, str]]:
    """The error report of the import just run on this connection: row, field, value, reason."""
    return repository.errors(connection)


def _present(columns: dict[str, str]) -> set[str]:
    return set(columns.values())


def _choices() -> dict[str, dict[str, str]]:
    return {c.name: fields.choice_labels(c) for c in fields.COLUMNS if c.kind == fields.Kind.choice}


def _stage(
    connection: Connection,
    path: Path,
    options: ImportOptions,
    result: ImportResult,
    progress: Progress,
) -> None:
    try:
        _stage_source(connection, path, options, result, progress, line_reader=True)
    except Reread:
        # Rare: a feature line past the first batch that the line reader does not take.
        # What it staged and found goes, and GDAL reads the file from the start.
        repository.create_staging(connection)
        result.format, result.encoding, result.rows = "", None, 0
        result.columns, result.ignored_columns = {}, []
        _stage_source(connection, path, options, result, progress, line_reader=False)


def _stage_source(
    connection: Connection,
    path: Path,
    options: ImportOptions,
    result: ImportResult,
    progress: Progress,
    *,
    line_reader: bool,
) -> None:
    source = open_source(
        path,
        file_format=options.file_format,
        encoding=options.encoding,
        mapping=fields.header_mapping(options.mapping),
        layer=options.layer,
        line_reader=line_reader,
    )
    result.format = source.format.value
    result.encoding = source.encoding
    result.columns = dict(source.mapped)
    if source.has_geometry:
        result.columns["(geometry)"] = "geometry"
    result.ignored_columns = source.ignored
    if "code" not in result.columns.values():
        raise FileProblem(
            f"{path.name}: missing required column: code (工程编号); the columns are "
            f"{', '.join(source.headers)}",
            row=1,
        )
    progress.stage("reading", source.total)
    present, choices = _present(result.columns), _choices()
    repository.create_typed(connection, present=present, choices=choices)
    staged_batches = (_StagedBatch(batch, options.coordsys) for batch in source.batches)
    for staged, copies in _read_ahead((staged, staged.copies()) for staged in staged_batches):
        for table, rows in copies:
            repository.copy_csv(connection, table, rows)
        if staged.errors:
            repository.add_errors(connection, staged.errors)
        if rows := staged.batch.rows:
            repository.type_rows(
                connection, present=present, choices=choices, first=rows[0], last=rows[-1]
            )
        result.rows += len(staged.batch.rows) + len(staged.batch.broken)
        progress.advance(len(staged.batch.rows) + len(staged.batch.broken))
    connection.execute(text("ANALYZE import_row (row_no, code)"))
    repository.analyze_typed(connection)


def _read_ahead(items: Iterable[T], depth: int = 2) -> Iterator[T]:
    """`items`, produced by a thread up to `depth` ahead of the consumer: the file is read
    and checked while PostgreSQL takes in the batch before (GDAL, Arrow, numpy and the
    socket release the GIL). The producer's exception is raised here, in order."""
    handoff: queue.Queue = queue.Queue(maxsize=depth)
    done = object()
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in items:
                if stop.is_set():
                    return
                handoff.put((item, None))
            handoff.put((done, None))
        except BaseException as exc:  # handed over, raised by the consumer
            handoff.put((done, exc))

    producer = threading.Thread(target=produce, name="import-reader", daemon=True)
    producer.start()
    try:
        while True:
            item, exc = handoff.get()
            if exc is not None:
                raise exc
            if item is done:
                return
            yield item
    finally:
        stop.set()
        while producer.is_alive():  # unblock a producer waiting on a full queue
            with contextlib.suppress(queue.Empty):
                handoff.get(timeout=0.1)
        producer.join()


def _clip(value: str | None) -> str | None:
    return value if value is None or len(value) <= _VALUE_CHARS else value[:_VALUE_CHARS] + "…"


class _StagedBatch:
    """One batch turned into COPY rows: geometry parsed, shifted to WGS 84 and checked in
    bulk with shapely; nested lists checked by the API's own models."""

    def __init__(self, batch: Batch, coordsys: CoordSys) -> None:
        self.batch = batch
        self.coordsys = coordsys
        self.size = len(batch.rows)
        self.errors: list[tuple[int | None, str, str | None, str]] = [
            (row, "", None, reason) for row, reason in batch.broken
        ]
        self.entrances: Any = None  # an Arrow table, when the batch has entrances
        self.units: Any = None  # an Arrow table, when the batch has protection units
        self.failed = np.zeros(self.size, dtype=bool)
        # The location as lon/lat numbers, NaN where there is none.
        self.lon = self.lat = np.full(self.size, np.nan)
        self.footprint: list[str | None] = [None] * self.size
        self._geometry()
        if fields.ENTRANCES in batch.cells:
            self._entrances(batch.cells[fields.ENTRANCES])
        if fields.UNITS in batch.cells:
            self._units(batch.cells[fields.UNITS])

    def table(self) -> Any:
        import pyarrow as pa

        nulls = pa.nulls(self.size, pa.string())
        columns = {"row_no": pa.array(self.batch.rows, pa.int32())}
        for name in fields.STAGED:
            cells = self.batch.cells.get(name)
            columns[name] = nulls if cells is None else _trimmed(cells)
        columns["lon"] = pa.array(self.lon, pa.float64(), from_pandas=True)
        columns["lat"] = pa.array(self.lat, pa.float64(), from_pandas=True)
        columns["footprint"] = pa.array(self.footprint, pa.string())
        columns["geometry_failed"] = pa.array(self.failed)
        return pa.table(columns)

    def copies(self) -> list[tuple[str, repository.CsvCopy]]:
        tables = [("import_row", self.table(), None)]
        if self.entrances is not None:
            tables.append(("import_entrance", self.entrances, fields.ENTRANCES))
        if self.units is not None:
            tables.append(("import_unit", self.units, fields.UNITS))
        copies = []
        for name, table, field_name in tables:
            rows = repository.CsvCopy.of(table)
            if rows.has_nul:
                rows = repository.CsvCopy.of(self._without_nul(table, field_name))
            copies.append((name, rows))
        return copies

    def _without_nul(self, table: Any, field_name: str | None) -> Any:
        """A NUL character would fail the COPY of the whole batch: a cell with one (raw,
        or a name decoded from \\u0000 in a JSON list) is named, which rejects its row,
        and the character dropped."""
        import pyarrow as pa
        import pyarrow.compute as pc

        for position, column in enumerate(table.columns):
            if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
                continue
            found = pc.fill_null(pc.match_substring(column, NUL), False)
            if not pc.any(found).as_py():
                continue
            name = table.column_names[position]
            for row, value in zip(
                table["row_no"].filter(found).to_pylist(),
                column.filter(found).to_pylist(),
                strict=True,
            ):
                self.errors.append((row, field_name or name, _clip(value), NUL_MESSAGE))
            table = table.set_column(position, name, pc.replace_substring(column, NUL, ""))
        return table

    def _error(self, index: int, name: str, value: str | None, reason: str) -> None:
        self.errors.append((self.batch.rows[index], name, _clip(value), reason))
        self.failed[index] = True

    # --- geometry -------------------------------------------------------------------

    def _geometry(self) -> None:
        cells = self.batch.cells
        points = np.full(self.size, None, dtype=object)
        areas = np.full(self.size, None, dtype=object)
        if self.batch.geometry is not None:
            self._take(
                shapely.from_wkb(self.batch.geometry),
                points,
                areas,
                "geometry",
            )
        if fields.WKT in cells:
            wkt = _texts(cells[fields.WKT])
            raw = np.array(wkt, dtype=object)
            given = np.array([bool(v and v.strip()) for v in wkt], dtype=bool)
            parsed = shapely.from_wkt(np.where(given, raw, None), on_invalid="ignore")
            for index in np.flatnonzero(given & shapely.is_missing(parsed)):
                self._error(int(index), fields.WKT, raw[index], "is not WKT geometry")
            self._take(parsed, points, areas, fields.WKT)
        lon = lat = np.full(self.size, np.nan)
        if fields.LON in cells or fields.LAT in cells:
            lon, lat = self._lon_lat()
        if fields.FOOTPRINT in cells:
            self._footprint_cells(_texts(cells[fields.FOOTPRINT]), areas)
        self._finish(points, areas, lon, lat)

    def _take(self, geoms: np.ndarray, points: np.ndarray, areas: np.ndarray, name: str) -> None:
        kinds = shapely.get_type_id(geoms)
        given = kinds >= 0
        empty = given & shapely.is_empty(geoms)
        # 0 Point, 3 Polygon, 4 MultiPoint, 6 MultiPolygon
        point = ~empty & (kinds == 0)
        single = ~empty & (kinds == 4) & (shapely.get_num_geometries(geoms) == 1)
        area = ~empty & ((kinds == 3) | (kinds == 6))
        points[point] = geoms[point]
        points[single] = shapely.get_geometry(geoms[single], 0)
        areas[area] = geoms[area]
        for index in np.flatnonzero(empty):
            self._error(int(index), name, geoms[index].wkt[:_VALUE_CHARS], "is empty")
        for index in np.flatnonzero(given & ~empty & ~point & ~single & ~area):
            self._error(
                int(index),
                name,
                geoms[index].wkt[:_VALUE_CHARS],
                f"a {geoms[index].geom_type} is neither a point nor a polygon",
            )

    def _lon_lat(self) -> tuple[np.ndarray, np.ndarray]:
        """The positions given as lon and lat, NaN where there is none."""
        lon = _decimals(self.batch.cells.get(fields.LON, [None] * self.size))
        lat = _decimals(self.batch.cells.get(fields.LAT, [None] * self.size))
        either = lon.given | lat.given
        for name, column in ((fields.LON, lon), (fields.LAT, lat)):
            for index in np.flatnonzero(either & np.isnan(column.values)):
                reason = (
                    "is not a number"
                    if column.given[index]
                    else "is required with the other coordinate"
                )
                self._error(int(index), name, column.cells[index].as_py() or "", reason)
        both = ~np.isnan(lon.values) & ~np.isnan(lat.values)
        return np.where(both, lon.values, np.nan), np.where(both, lat.values, np.nan)

    def _footprint_cells(self, cells: list[Any], areas: np.ndarray) -> None:
        for index, value in enumerate(cells):
            cell = _json_text(value)
            if cell is None or not cell.strip() or cell.strip() == "null":
                continue
            try:
                areas[index] = _FOOTPRINT.validate_json(cell).to_shape()
            except ValidationError as exc:
                for problem in exc.errors(include_url=False):
                    self._error(index, fields.FOOTPRINT, cell, _message(problem))

    def _finish(
        self, points: np.ndarray, areas: np.ndarray, lon: np.ndarray, lat: np.ndarray
    ) -> None:
        """`points` from geometries, `lon`/`lat` from those columns (which win), as
        numbers: a Point object per row cost 5 s a million rows only to be read back."""
        has_area = ~shapely.is_missing(areas)
        given = ~np.isnan(lon)
        xs = np.where(given, lon, shapely.get_x(points))
        ys = np.where(given, lat, shapely.get_y(points))
        # A polygon's inner point stands for the location when no point is given.
        no_point = np.isnan(xs) & has_area & ~self.failed
        if no_point.any():
            inner = shapely.point_on_surface(areas[no_point])
            xs[no_point], ys[no_point] = shapely.get_x(inner), shapely.get_y(inner)
        if self.coordsys in _SHIFTED:
            for index in np.flatnonzero(~np.isnan(xs)):
                xs[index], ys[index] = position_to_wgs84(xs[index], ys[index], self.coordsys)
            areas = np.array([_shift(g, self.coordsys) for g in areas], dtype=object)
        has_point = ~np.isnan(xs) & ~self.failed
        for index in np.flatnonzero(has_point & ~_in_china(xs, ys)):
            self._error(
                int(index),
                "location",
                f"{xs[index]}, {ys[index]}",
                f"position [{xs[index]}, {ys[index]}] lies outside China",
            )
        has_area &= ~self.failed
        valid = shapely.is_valid(areas)
        west, south, east, north = shapely.bounds(areas).T
        inside = _in_china(west, south) & _in_china(east, north)
        for index in np.flatnonzero(has_area & ~valid):
            self._error(
                int(index),
                fields.FOOTPRINT,
                areas[index].wkt[:_VALUE_CHARS],
                f"invalid polygon: {shapely.is_valid_reason(areas[index])}",
            )
        for index in np.flatnonzero(has_area & valid & ~inside):
            self._error(
                int(index), fields.FOOTPRINT, areas[index].wkt[:_VALUE_CHARS], "lies outside China"
            )
        keep_point = ~np.isnan(xs) & ~self.failed
        keep_area = ~shapely.is_missing(areas) & ~self.failed
        self.lon, self.lat = np.where(keep_point, xs, np.nan), np.where(keep_point, ys, np.nan)
        self.footprint = _ewkb_hex(areas, keep_area)

    # --- nested lists ---------------------------------------------------------------

    def _entrances(self, cells: Any) -> None:
        import pyarrow as pa

        texts = cells if isinstance(cells, pa.Array) else pa.array(cells, pa.string())
        blank, checked, parsed = _arrow_entrances(texts)
        rest: list[tuple] = []
        for index in np.flatnonzero(~blank & ~checked):
            cell = texts[int(index)].as_py()
            # The API's model is the authority, but it costs ~30 µs a row; a list that
            # _plain_entrances passes is one the model accepts, so only the others go to
            # the model for its verdict.
            entrances = _plain_entrances(cell)
            if entrances is None:
                try:
                    entrances = [
                        (e.kind.value, e.accessible, e.name, *e.location.coordinates)
                        for e in _ENTRANCES.validate_json(cell)
                    ]
                except ValidationError as exc:
                    for problem in exc.errors(include_url=False):
                        self._error(int(index), fields.ENTRANCES, cell, _message(problem))
                    continue
            rest += [(int(index), seq, *entrance) for seq, entrance in enumerate(entrances)]
        parsed = _appended(parsed, rest)
        if not parsed.num_rows:
            return
        lon, lat = parsed["lon"].to_numpy(), parsed["lat"].to_numpy()
        if self.coordsys in _SHIFTED:
            lon, lat = np.array(
                [position_to_wgs84(x, y, self.coordsys) for x, y in zip(lon, lat, strict=True)]
            ).T
        rows = np.asarray(self.batch.rows, dtype=np.int32)[parsed["index"].to_numpy()]
        self.entrances = pa.table(
            {
                "row_no": rows,
                "seq": parsed["seq"],
                "kind": parsed["kind"],
                "accessible": parsed["accessible"],
                "name": parsed["name"],
                "lon": lon,
                "lat": lat,
            }
        )

    def _units(self, cells: Any) -> None:
        import pyarrow as pa

        texts = (
            cells
            if isinstance(cells, pa.Array)
            else pa.array([_json_text(value) for value in cells], pa.string())
        )
        blank, checked, parsed = _arrow_units(texts)
        rest: list[tuple] = []
        # Lists Arrow could not vouch for go to the API's model, which names what is wrong.
        for index in np.flatnonzero(~blank & ~checked):
            cell = texts[int(index)].as_py()
            try:
                units = _UNITS.validate_json(cell)
            except ValidationError as exc:
                for problem in exc.errors(include_url=False):
                    self._error(int(index), fields.UNITS, cell, _message(problem))
                continue
            if rules.repeated_names(units):
                self._error(int(index), fields.UNITS, cell, rules.UNIT_NAMES.message())
                continue
            rest += [
                (int(index), seq, unit.name, unit.shelter_area, unit.capacity_persons)
                for seq, unit in enumerate(units)
            ]
        parsed = _appended(parsed, rest)
        if not parsed.num_rows:
            return
        rows = np.asarray(self.batch.rows, dtype=np.int32)[parsed["index"].to_numpy()]
        self.units = pa.table(
            {
                "row_no": rows,
                "seq": parsed["seq"],
                "name": parsed["name"],
                # Python's rounding, which the API applies: Arrow's may differ in the last place.
                "shelter_area": [round(area, 2) for area in parsed["shelter_area"].to_pylist()],
                "capacity_persons": parsed["capacity_persons"],
            }
        )


# What str.strip() removes (str.isspace), as an RE2 class for Arrow's regex functions.
_SPACE = (
    r"[\t\n\x0b\x0c\r\x1c-\x1f \x85\xa0\x{1680}\x{2000}-\x{200a}"
    r"\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}]"
)


@cache
def _nested_json(field_name: str) -> tuple[Any, Any]:
    """How Arrow reads a batch of entrance or protection unit lists, and the table of
    their items that the checks below make (cell index, seq, values)."""
    import pyarrow as pa
    import pyarrow.json as pajson

    if field_name == fields.ENTRANCES:
        point = pa.struct([("type", pa.string()), ("coordinates", pa.list_(pa.float64()))])
        named = [("kind", pa.string()), ("accessible", pa.bool_()), ("name", pa.string())]
        item = pa.struct([*named, ("location", point)])
        values = [*named, ("lon", pa.float64()), ("lat", pa.float64())]
    else:
        values = [
            ("name", pa.string()),
            ("shelter_area", pa.float64()),
            ("capacity_persons", pa.int64()),
        ]
        item = pa.struct(values)
    options = pajson.ParseOptions(
        explicit_schema=pa.schema([("e", pa.list_(item))]), unexpected_field_behavior="error"
    )
    return options, pa.schema([("index", pa.int64()), ("seq", pa.int32()), *values])


def _arrow_lists(texts: Any, field_name: str) -> tuple[np.ndarray, Any]:
    """The JSON lists of a batch's cells, read by Arrow's JSON reader all at once: which
    cells are blank, and the lists (None when the reader refuses the batch: a value of
    another type, an unknown key, a cell that closed its list and began another)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.json as pajson

    options, _ = _nested_json(field_name)
    size = len(texts)
    blank = pc.fill_null(pc.match_substring_regex(texts, f"^{_SPACE}*$"), True).to_numpy(
        zero_copy_only=False
    )
    # JSON has raw line breaks only between tokens, where a space does as well: the
    # reader takes one object per line.
    one_line = pc.replace_substring_regex(texts, r"[\r\n]", " ")
    lines = pc.binary_join_element_wise('{"e":', pc.if_else(blank, "null", one_line), "}", "")
    document = pc.binary_join(
        pa.ListArray.from_arrays(pa.array([0, size], pa.int32()), lines), "\n"
    )
    try:
        read = pajson.read_json(pa.BufferReader(document[0].as_buffer()), parse_options=options)
    except pa.ArrowInvalid:
        return blank, None
    if read.num_rows != size:
        return blank, None
    return blank, read.column("e").combine_chunks()


def _appended(table: Any, rows: list[tuple]) -> Any:
    """`table` with `rows` (tuples in its columns' order) after its own."""
    import pyarrow as pa

    if not rows:
        return table
    columns = [list(column) for column in zip(*rows, strict=True)]
    return pa.concat_tables([table, pa.table(columns, schema=table.schema)]).combine_chunks()


def _true(condition: Any) -> np.ndarray:
    import pyarrow.compute as pc

    return pc.fill_null(condition, False).to_numpy(zero_copy_only=False)


def _checked_items(
    lists: Any,
    blank: np.ndarray,
    good: np.ndarray,
    columns: list[Any],
    field_name: str,
    max_items: int,
) -> tuple[np.ndarray, Any]:
    """Which cells hold lists (of at most `max_items`) whose items are all `good`, and
    those items as a table (cell index, seq, *columns)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    _, schema = _nested_json(field_name)
    size = len(blank)
    parent = pc.list_parent_indices(lists).to_numpy()
    lengths = pc.fill_null(pc.list_value_length(lists), 0).to_numpy()
    checked = (
        ~blank
        & _true(lists.is_valid())
        & (np.bincount(parent[~good], minlength=size) == 0)
        & (lengths <= max_items)
    )
    keep = checked[parent]
    seq = np.arange(len(parent)) - (np.cumsum(lengths) - lengths)[parent]
    table = pa.table(
        [parent[keep], seq[keep].astype(np.int32)]
        + [
            column.filter(keep) if isinstance(column, pa.Array) else column[keep]
            for column in columns
        ],
        schema=schema,
    )
    return checked, table


def _arrow_entrances(texts: Any) -> tuple[np.ndarray, np.ndarray, Any]:
    """The entrance lists of a batch, parsed by Arrow's JSON reader all at once: which cells
    are blank, which hold lists that pass the checks of `_plain_entrances`, and those
    lists' entrances as a table (cell index, seq, kind, accessible, name, lon, lat). A
    batch the reader refuses (a value of another type, an unknown key) has none checked:
    its lists go one by one through `_plain_entrances` and the model."""
    import pyarrow as pa
    import pyarrow.compute as pc

    blank, lists = _arrow_lists(texts, fields.ENTRANCES)
    if lists is None:
        return _none_checked(blank, fields.ENTRANCES)
    entrance = pc.list_flatten(lists)
    kind, accessible, name, location = (pc.struct_field(entrance, [i]) for i in range(4))
    position = pc.struct_field(location, [1])
    pair = _true(pc.equal(pc.list_value_length(position), 2))
    position = pc.if_else(pair, position, pa.scalar(None, position.type))
    lon, lat = (pc.list_element(position, i).to_numpy(zero_copy_only=False) for i in (0, 1))
    good = (
        _true(entrance.is_valid())
        & _true(pc.is_in(kind, value_set=pa.array(sorted(_KINDS))))
        & _true(accessible.is_valid())
        & (~_true(name.is_valid()) | _good_names(name))
        & _true(pc.equal(pc.struct_field(location, [0]), "Point"))
        & pair
        & _in_china(lon, lat)
    )
    checked, table = _checked_items(
        lists,
        blank,
        good,
        [kind, accessible, name, lon, lat],
        fields.ENTRANCES,
        max_items=MAX_ENTRANCES,
    )
    return blank, checked, table


def _arrow_units(texts: Any) -> tuple[np.ndarray, np.ndarray, Any]:
    """As _arrow_entrances, for protection unit lists: a list is checked when each unit
    has a name of 1 to SHORT_TEXT_MAX characters without spaces around it, an area and persons in
    the API's ranges, and the names differ."""
    import pyarrow as pa
    import pyarrow.compute as pc

    blank, lists = _arrow_lists(texts, fields.UNITS)
    if lists is None:
        return _none_checked(blank, fields.UNITS)
    unit = pc.list_flatten(lists)
    name, area, persons = (pc.struct_field(unit, [i]) for i in range(3))
    parent = pc.list_parent_indices(lists).to_numpy()
    good = (
        _true(unit.is_valid())
        & _good_names(name)
        & _true(pc.and_(pc.greater_equal(area, 0), pc.less_equal(area, AREA_MAX)))
        & _true(pc.and_(pc.greater_equal(persons, 0), pc.less_equal(persons, PERSONS_MAX)))
    )
    # A name twice in one list: the model's path names it.
    if len(parent):
        pairs = pa.table({"p": parent, "n": name}).group_by(["p", "n"]).aggregate([("p", "count")])
        repeated = pairs.filter(pc.greater(pairs["p_count"], 1))["p"].to_numpy()
        good &= ~np.isin(parent, repeated)
    checked, table = _checked_items(
        lists, blank, good, [name, area, persons], fields.UNITS, max_items=MAX_PROTECTION_UNITS
    )
    return blank, checked, table


def _none_checked(blank: np.ndarray, field_name: str) -> tuple[np.ndarray, np.ndarray, Any]:
    """A batch Arrow's reader refused: every list goes one by one to the checks in Python."""
    return blank, np.zeros(len(blank), dtype=bool), _nested_json(field_name)[1].empty_table()


def _good_names(names: Any) -> np.ndarray:
    """Names of 1 to SHORT_TEXT_MAX characters without spaces around them (as the API's
    models)."""
    import pyarrow.compute as pc

    length = pc.utf8_length(names)
    return _true(
        pc.and_(pc.greater_equal(length, 1), pc.less_equal(length, SHORT_TEXT_MAX))
    ) & ~_true(pc.match_substring_regex(names, f"^{_SPACE}|{_SPACE}$"))


_ENTRANCE_KEYS = frozenset({"kind", "accessible", "name", "location"})
_KINDS = frozenset(kind.value for kind in EntranceKind)


def _plain_entrances(cell: str) -> list[tuple] | None:
    """A well-formed entrances list as (kind, accessible, name, lon, lat), or None for
    anything the API model has to judge."""
    try:
        data = json.loads(cell)
    except (ValueError, RecursionError):
        return None
    if not isinstance(data, list) or len(data) > MAX_ENTRANCES:
        return None
    out = []
    for entrance in data:
        if not isinstance(entrance, dict) or not entrance.keys() <= _ENTRANCE_KEYS:
            return None
        kind, accessible, name = (
            entrance.get("kind"),
            entrance.get("accessible", False),
            entrance.get("name"),
        )
        location = entrance.get("location")
        if kind not in _KINDS or type(accessible) is not bool:
            return None
        if name is not None:
            if type(name) is not str or not 1 <= len(name.strip()) <= SHORT_TEXT_MAX:
                return None
            name = name.strip()
        if type(location) is not dict or location.keys() != {"type", "coordinates"}:
            return None
        position = location["coordinates"]
        if location["type"] != "Point" or type(position) is not list or len(position) != 2:
            return None
        lon, lat = position
        if type(lon) not in (int, float) or type(lat) not in (int, float):
            return None
        if not in_china(lon, lat):
            return None
        out.append((kind, accessible, name, float(lon), float(lat)))
    return out


def _in_china(lons: np.ndarray, lats: np.ndarray) -> np.ndarray:
    """`in_china` for arrays; NaN (no geometry) is outside."""
    west, south, east, north = CHINA_BOUNDS
    return (lons >= west) & (lons <= east) & (lats >= south) & (lats <= north)


class _Decimals(NamedTuple):
    cells: Any  # Arrow strings, trimmed
    given: np.ndarray  # not empty
    values: np.ndarray  # NaN where not given or not a number


def _decimals(cells: Any) -> _Decimals:
    """A column of number cells, read at once."""
    import pyarrow as pa
    import pyarrow.compute as pc

    text = pc.utf8_trim_whitespace(
        cells if isinstance(cells, pa.Array) else pa.array(cells, pa.string())
    )
    given = pc.fill_null(pc.greater(pc.utf8_length(text), 0), False)
    numeric = pc.fill_null(pc.match_substring_regex(text, repository.DECIMAL_RE), False)
    values = np.full(len(text), np.nan)
    values[numeric.to_numpy(zero_copy_only=False)] = np.array(
        text.filter(numeric).to_pylist(), dtype=np.float64
    )
    return _Decimals(text, given.to_numpy(zero_copy_only=False), values)


def _trimmed(cells: Any) -> Any:
    """Cells as the checks read them: without the spaces around them (as SQL's btrim
    drops them), and empty ones as null. Done here by Arrow, they cost the server
    nothing: trimming each cell in the SQL was a fifth of its typing and checking."""
    import pyarrow as pa
    import pyarrow.compute as pc

    text = pc.utf8_trim(
        cells if isinstance(cells, pa.Array) else pa.array(cells, pa.string()), characters=" "
    )
    return pc.if_else(pc.equal(text, ""), pa.scalar(None, text.type), text)


def _texts(cells: Any) -> list[Any]:
    """Python values of a column, from a list or an Arrow array."""
    return cells if isinstance(cells, list) else cells.to_pylist()


def _json_text(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def _message(problem: dict[str, Any]) -> str:
    where = ".".join(str(part) for part in problem["loc"])
    return f"{where}: {problem['msg']}" if where else problem["msg"]


def _shift(geom: BaseGeometry | None, coordsys: CoordSys) -> BaseGeometry | None:
    return None if geom is None else to_wgs84(geom, coordsys)


def _ewkb_hex(geoms: np.ndarray, keep: np.ndarray) -> list[str | None]:
    out = np.full(len(geoms), None, dtype=object)
    if keep.any():
        chosen = shapely.set_srid(geoms[keep], 4326)
        out[keep] = shapely.to_wkb(chosen, hex=True, include_srid=True)
    return out.tolist()


def record_import(session: Session, result: "ImportResult", *, actor: str, **context: Any) -> None:
    """One audit event per import, also when it changed nothing: a second import of the
    same file is on the trail as 0 inserted, 0 updated."""
    written = repository.written_codes(session.connection(), limit=1000) if result.written else {}
    audit.record(
        session,
        actor=actor,
        action="import",
        entity="import",
        entity_id=result.sha256,
        changes={**result.summary(), **context, "codes": written},
    )
