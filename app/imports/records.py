"""Imports of the tables that hang off facilities: peacetime uses, signs and maintenance
records, each row naming its facility by registry code (imports.tables).

These tables are small beside the facilities (a few rows a work), so a row goes through
the API's own models and services (imports.writers), in a savepoint of its own: the same
rules, messages and audit events as a request, and a bad row leaves nothing behind. As
for facilities, one bad row and nothing is written unless `partial`; a dry run writes in
a savepoint and takes it back; the error report is the facility import's
(staging.add_errors)."""

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.accounts.models import Role
from app.accounts.principal import Principal
from app.core.formats import FORMULA_FIRST
from app.facilities.models import Facility, Visibility
from app.imports import checks, staging, tables, writers
from app.imports.readers import FileFormat, FileProblem, open_source
from app.imports.readers.spreadsheet import sheet_names
from app.imports.tables import Table

# A bound on one file: each row is a request's worth of work.
MAX_ROWS = 100_000
NO_FACILITY = "no facility has the registry code {code}"
DELETED = "belongs to a deleted facility"


@dataclass
class Row:
    number: int  # as the reader numbers rows: the spreadsheet's, or the feature's
    raw: dict[str, str | None]  # field -> the cell without the spaces around it
    cells: dict[str, str | None] = field(default_factory=dict)  # as read (choices, days)
    facility_id: int = 0

    def __post_init__(self) -> None:
        self.cells = self.cells or dict(self.raw)


@dataclass(frozen=True)
class ImportPrincipal(Principal):
    """Whom the services see: an admin (the import checked the scope row by row) that the
    audit trail names as the import's actor, a key or `rf import --actor`."""

    by: str | None = None

    @property
    def actor(self) -> str | None:
        return self.by


def import_records(
    session: Session, path: Path, options: Any, result: Any, progress: Any, *, actor: str | None
) -> None:
    """Fills `result` (service.ImportResult) with the import of `path` into `options.table`."""
    connection = session.connection()
    table = options.table
    rows, errors = _read(path, options, result, progress)
    missing = [name for name in tables.REQUIRED[table] if name not in result.columns.values()]
    if missing:
        headers = ", ".join(_header(table, name) for name in missing)
        raise FileProblem(f"{path.name}: missing required column(s): {headers}", row=1)
    progress.stage("checking", None)
    rows = _facilities(session, rows, options, errors)
    rows = _choices(table, rows, errors)
    progress.stage("writing", None)
    writer = writers.Writer(
        session,
        principal=ImportPrincipal(role=Role.admin, by=actor),
        given=set(result.columns.values()),
        coordsys=options.coordsys,
        errors=errors,
    )
    # A dry run writes for real, so that its counts are exact, then takes it back; so does
    # an import with a bad row, unless partial.
    with session.begin_nested() as savepoint:
        writer.write(table, rows)
        if options.dry_run or (errors and not options.partial):
            savepoint.rollback()
    staging.add_errors(connection, errors)
    result.errors, result.rejected = checks.error_count(connection)
    if result.errors and not options.partial:
        return
    result.inserted, result.updated, result.unchanged = writer.counts


def _read(path: Path, options: Any, result: Any, progress: Any) -> tuple[list[Row], list[tuple]]:
    table = options.table
    layer = options.layer
    sheet = tables.SHEETS.get(table)
    if layer is None and sheet and _is_workbook(path, options) and sheet in sheet_names(path):
        layer = sheet  # the export's sheet of this table
    source = open_source(
        path,
        file_format=options.file_format,
        encoding=options.encoding,
        mapping=tables.header_mapping(table, options.mapping),
        layer=layer,
        header_row=options.header_row,
    )
    result.format, result.encoding = source.format.value, source.encoding
    result.columns, result.ignored_columns = dict(source.mapped), source.ignored
    progress.stage("reading", source.total)
    rows: list[Row] = []
    errors: list[tuple] = []
    for batch in source.batches:
        cells = {name: _texts(values) for name, values in batch.cells.items()}
        for index, number in enumerate(batch.rows):
            rows.append(Row(number, {name: values[index] for name, values in cells.items()}))
        errors += [(number, "", None, problem) for number, problem in batch.broken]
        result.rows += len(batch.rows) + len(batch.broken)
        if result.rows > MAX_ROWS:
            raise FileProblem(f"{path.name}: more than {MAX_ROWS} rows; split the file")
        progress.advance(len(batch.rows) + len(batch.broken))
    return rows, errors


def _is_workbook(path: Path, options: Any) -> bool:
    return (options.file_format or "") == FileFormat.xlsx or path.suffix.lower() == ".xlsx"


def _texts(values: Any) -> list[str | None]:
    """Trimmed, empty as None, and without the apostrophe a CSV export puts before text
    that starts as a formula (core.formats.spreadsheet_text)."""
    if hasattr(values, "to_pylist"):  # an Arrow array, from the CSV reader
        values = values.to_pylist()
    texts = [None if v is None or not str(v).strip() else str(v).strip() for v in values]
    return [v[1:] if v and v[:2] in QUOTED else v for v in texts]


QUOTED = frozenset("'" + c for c in FORMULA_FIRST)


def _header(table: Table, name: str) -> str:
    column = next(c for c in tables.COLUMNS[table] if c.name == name)
    return f"{name} ({column.headers[0]})"


def _facilities(session: Session, rows: list[Row], options: Any, errors: list) -> list[Row]:
    """The rows whose code names a live facility in the caller's scope, each with it."""
    codes = {row.cells["code"] for row in rows if row.cells.get("code")}
    found = {
        f.code: f
        for f in session.execute(
            select(
                Facility.id,
                Facility.code,
                Facility.deleted_at,
                Facility.province_code,
                Facility.city_code,
                Facility.district_code,
                Facility.visibility,
            ).where(Facility.code.in_(codes))
        )
    }
    scoped = options.scope_admin_codes is not None or options.scope_facility_ids is not None
    kept = []
    for row in rows:
        code = row.cells.get("code")
        facility = found.get(code) if code else None
        reason = None
        if code is None:
            reason = "is required"
        elif facility is None or (scoped and _hidden(facility, options)):
            # A restricted work outside the key's scope is missing, as the API's 404.
            reason = NO_FACILITY.format(code=code)
        elif facility.deleted_at is not None:
            reason = DELETED
        elif scoped and not _in_scope(facility, options):
            reason = checks.OUTSIDE_SCOPE
        if reason is not None:
            errors.append((row.number, "code", code, reason))
            continue
        row.facility_id = facility.id
        kept.append(row)
    return kept


def _hidden(facility: Any, options: Any) -> bool:
    """Whether a scoped key may not know of the work (facilities.scope.visible_clause)."""
    return facility.visibility != Visibility.public and not _in_scope(facility, options)


def _in_scope(facility: Any, options: Any) -> bool:
    if facility.id in (options.scope_facility_ids or ()):
        return True
    places = (facility.province_code, facility.city_code, facility.district_code)
    return any(code in (options.scope_admin_codes or ()) for code in places if code)


def _choices(table: Table, rows: list[Row], errors: list) -> list[Row]:
    """Choice cells as stored values (their Chinese spellings read), dates as ISO days."""
    kept = []
    for row in rows:
        bad = False
        for column in tables.COLUMNS[table]:
            cell = row.cells.get(column.name)
            if cell is None:
                continue
            if column.choices is not None:
                value = column.value_of(cell)
                if value is None:
                    allowed = ", ".join(m.value for m in column.choices)
                    errors.append((row.number, column.name, cell, f"is not one of: {allowed}"))
                    bad = True
                row.cells[column.name] = value
            elif column.name in writers.DAYS:
                row.cells[column.name] = iso_day(cell)
        if not bad:
            kept.append(row)
    return kept


_DAY = re.compile(r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?(?:[T ]00:00(?::00)?)?$")


def iso_day(cell: str) -> str:
    """2022-05-10 as ledgers write it too: 2022/5/10, 2022.5.10, 2022年5月10日, and as a
    workbook's date cell reads (2022-05-10T00:00:00). Anything else is left for the
    model to name."""
    match = _DAY.match(cell)
    if match is None:
        return cell
    year, month, day = match.groups()
    return f"{year}-{int(month):02d}-{int(day):02d}"
