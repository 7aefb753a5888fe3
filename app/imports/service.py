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
import queue
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypeVar

from sqlalchemy import Connection, text
from sqlalchemy.orm import Session

from app.audit import service as audit
from app.core.geo import CoordSys
from app.imports import checks, fields, records, staging, typed, writing
from app.imports.batches import StagedBatch
from app.imports.readers import FileFormat, FileProblem, Reread, open_source
from app.imports.tables import Table

REQUIRED_FOR_NEW = tuple(c.name for c in fields.COLUMNS if c.required)


T = TypeVar("T")


@dataclass
class ImportOptions:
    table: Table = Table.facilities
    file_format: FileFormat | None = None
    encoding: str | None = None
    coordsys: CoordSys = CoordSys.wgs84
    mapping: dict[str, str] | None = None  # checked entries over the default mapping
    layer: str | None = None
    header_row: int | None = None  # XLSX: the header's row; else found below title rows
    # A manager's scope: rows outside it are errors. None for an admin (or the CLI).
    scope_admin_codes: list[str] | None = None
    scope_facility_ids: list[int] | None = None
    partial: bool = False
    dry_run: bool = False


@dataclass
class ImportResult:
    file: str
    table: Table = Table.facilities
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
            "table": self.table.value,
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
            # header -> field: the error report names each field by the file's header.
            "columns": self.columns,
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
    staging.create_staging(connection)
    try:
        _stage(connection, path, options, result, progress)
    except FileProblem as problem:
        result.problem = problem.detail
        staging.add_errors(connection, [(problem.row, "", None, problem.detail)])
        result.errors, result.rejected = checks.error_count(connection)
        return result
    progress.stage("checking", None)
    present = _present(result.columns)
    if fields.UNITS in present:
        checks.sum_units(connection, totals_given=present & {"shelter_area", "capacity_persons"})
    checks.check_rows(connection)
    checks.resolve_divisions(connection, with_boundaries=staging.boundaries_loaded(connection))
    checks.check_code_forms(connection)
    if options.scope_admin_codes is not None or options.scope_facility_ids is not None:
        checks.check_scope(
            connection,
            admin_codes=options.scope_admin_codes or [],
            facility_ids=options.scope_facility_ids or [],
        )
    missing = [name for name in REQUIRED_FOR_NEW if name not in present]
    if not ({fields.LON, fields.LAT} <= present or fields.WKT in present or "geometry" in present):
        missing.append("location (lon and lat, wkt, or a GIS geometry)")
    if missing and (new := checks.new_codes(connection)):
        problem = (
            f"missing required column(s): {', '.join(missing)}; {new} row(s) have codes that "
            "are not registered yet, and a new facility needs them"
        )
        result.problem = problem
        staging.add_errors(connection, [(None, ", ".join(missing), None, problem)])
    result.errors, result.rejected = checks.error_count(connection)
    if result.problem or (result.errors and not options.partial):
        return result

    progress.stage("writing", None)
    # A dry run writes for real inside a savepoint, so that its counts are exact and every
    # constraint has had its say, then takes it back; the staging and the report stay.
    savepoint = connection.begin_nested() if options.dry_run else None
    writing.find_child_changes(
        connection, entrances=fields.ENTRANCES in present, units=fields.UNITS in present
    )
    rows = result.rows - result.rejected
    # facility_figure is written by the statistics trigger of the facilities' INSERT.
    with (
        writing.bulk_loading(connection, "facility", rows) as into_empty,
        writing.bulk_loading(connection, "facility_figure", rows),
    ):
        id_base = writing.reserve_ids(connection) if into_empty else None
        result.inserted, result.updated = writing.upsert(connection, id_base=id_base)
    with contextlib.ExitStack() as children:
        for table, field in (("entrance", fields.ENTRANCES), ("protection_unit", fields.UNITS)):
            if field in present:
                children.enter_context(writing.bulk_loading(connection, table, result.inserted))
        writing.write_children(
            connection,
            entrances=fields.ENTRANCES in present,
            units=fields.UNITS in present,
            id_base=id_base,
        )
    result.unchanged = result.rows - result.rejected - result.inserted - result.updated
    if savepoint is not None:
        savepoint.rollback()
    else:
        writing.analyze_if_large(connection, result.inserted + result.updated)
    return result


def import_table(
    session: Session,
    path: Path,
    options: ImportOptions,
    *,
    actor: str | None,
    progress: Progress | None = None,
) -> ImportResult:
    """An import of peacetime uses, signs or maintenance records (imports.records), with
    the facility import's options, result and error report."""
    result = ImportResult(
        file=path.name,
        table=options.table,
        partial=options.partial,
        dry_run=options.dry_run,
        sha256=file_sha256(path),
    )
    connection = session.connection()
    staging.create_staging(connection)
    try:
        records.import_records(session, path, options, result, progress or _Silent(), actor=actor)
    except FileProblem as problem:
        result.problem = problem.detail
        staging.add_errors(connection, [(problem.row, "", None, problem.detail)])
        result.errors, result.rejected = checks.error_count(connection)
    return result


def errors(connection: Connection) -> Iterator[tuple[int | None, str, str | None, str]]:
    """The error report of the import just run on this connection: row, field, value, reason."""
    return checks.errors(connection)


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
        staging.create_staging(connection)
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
        header_row=options.header_row,
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
    typed.create_typed(connection, present=present, choices=choices)
    staged_batches = (StagedBatch(batch, options.coordsys) for batch in source.batches)
    for staged, copies in _read_ahead((staged, staged.copies()) for staged in staged_batches):
        for table, rows in copies:
            staging.copy_csv(connection, table, rows)
        if staged.errors:
            staging.add_errors(connection, staged.errors)
        if rows := staged.batch.rows:
            # Typed and checked while the file's next batches are read.
            typed.type_rows(
                connection, present=present, choices=choices, first=rows[0], last=rows[-1]
            )
            checks.check_cells(connection, present=present, first=rows[0], last=rows[-1])
        result.rows += len(staged.batch.rows) + len(staged.batch.broken)
        progress.advance(len(staged.batch.rows) + len(staged.batch.broken))
    connection.execute(text("ANALYZE import_row (row_no, code)"))
    typed.analyze_typed(connection)


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


def run_import(
    session: Session,
    path: Path,
    options: ImportOptions,
    *,
    actor: str,
    progress: Progress | None = None,
    **context: Any,
) -> ImportResult:
    """An import in the session's transaction, as `rf import` and POST /v1/imports run it:
    the file read, checked and (unless rejected) written, and an audit event when the
    result may stay. The error report stays on the connection (`errors`) until the
    transaction ends, which is the caller's: commit when `result.committable`."""
    if options.table == Table.facilities:
        result = import_file(session.connection(), path, options, progress=progress)
    else:
        result = import_table(session, path, options, actor=actor, progress=progress)
    if result.committable:
        record_import(session, result, actor=actor, **context)
    return result


def record_import(session: Session, result: "ImportResult", *, actor: str, **context: Any) -> None:
    """One audit event per import, also when it changed nothing: a second import of the
    same file is on the trail as 0 inserted, 0 updated."""
    written = (
        writing.written_codes(session.connection(), limit=1000)
        if result.written and result.table == Table.facilities
        else {}
    )
    audit.record(
        session,
        actor=actor,
        action="import",
        entity="import",
        entity_id=result.sha256,
        changes={**result.summary(), **context, "codes": written},
    )
