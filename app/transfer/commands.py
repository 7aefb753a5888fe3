"""`rf import`, `rf export` and `rf stats`: registered on the `rf` command in app/cli.py.
Each command is one transaction, committed only when the import is clean (or --partial)."""

import csv
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    SpinnerColumn,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text
from sqlalchemy import Connection, create_engine
from sqlalchemy.orm import Session

from app.config import Settings
from app.core.errors import BadRequest
from app.core.geo import CoordSys
from app.divisions import repository as divisions
from app.facilities.dependencies import parse_bbox
from app.facilities.models import ConstructionForm, FacilityStatus, WartimeFunction
from app.facilities.repository import FacilityFilter
from app.stats import service as stats
from app.transfer import exports, fields, repository, service
from app.transfer.exports import ExportFormat
from app.transfer.readers import FileFormat

_err = Console(stderr=True)


@contextmanager
def _connection() -> Iterator[Connection]:
    engine = create_engine(
        Settings().sqlalchemy_url,
        connect_args={"options": f"-c temp_buffers={repository.TEMP_BUFFERS}"},
    )
    try:
        with engine.connect() as connection:
            yield connection
    finally:
        engine.dispose()


class _Bar:
    """Rows read, with rows/s and ETA; then a spinner per checking and writing step."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.task: TaskID | None = None

    def stage(self, name: str, total: int | None) -> None:
        if self.task is not None:
            self.progress.update(self.task, completed=self.progress.tasks[self.task].total or 0)
            self.progress.stop_task(self.task)
        self.task = self.progress.add_task(name, total=total)

    def advance(self, rows: int) -> None:
        if self.task is not None:
            self.progress.advance(self.task, rows)


class _RowsPerSecond(ProgressColumn):
    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text("" if speed is None else f"{speed:,.0f} rows/s")


def _progress(enabled: bool) -> Progress:
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description:<9}"),
        BarColumn(),
        MofNCompleteColumn(),
        _RowsPerSecond(),
        TimeRemainingColumn(),
        TimeElapsedColumn(),
        console=_err,
        disable=not enabled,
    )


def import_command(
    path: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="the file to import")],
    file_format: Annotated[
        FileFormat | None, typer.Option("--format", help="when the suffix does not tell")
    ] = None,
    coordsys: Annotated[
        CoordSys, typer.Option(help="coordinate system of the file's positions")
    ] = CoordSys.wgs84,
    encoding: Annotated[
        str | None,
        typer.Option(help="text encoding (CSV, Shapefile); detected as UTF-8 or GBK/GB18030"),
    ] = None,
    mapping: Annotated[
        Path | None,
        typer.Option(exists=True, dir_okay=False, help="JSON or TOML of header -> field"),
    ] = None,
    layer: Annotated[str | None, typer.Option(help="layer or sheet name")] = None,
    dry_run: Annotated[bool, typer.Option(help="check and count, write nothing")] = False,
    partial: Annotated[
        bool, typer.Option(help="write the valid rows and report the others")
    ] = False,
    report: Annotated[
        Path | None,
        typer.Option(help="where the error report goes (default: FILE.errors.csv here)"),
    ] = None,
    actor: Annotated[str, typer.Option(help="who imports, for the audit trail")] = "cli",
    progress: Annotated[bool, typer.Option(help="show a progress bar")] = True,
) -> None:
    """Import facilities from CSV, XLSX, GeoJSON, NDJSON, GeoPackage, Shapefile or FlatGeobuf.

    All rows or none, unless --partial. Rows are matched on the registry code: a known code
    updates its facility, and a row equal to what is stored changes nothing."""
    options = service.ImportOptions(
        file_format=file_format,
        encoding=encoding,
        coordsys=coordsys,
        mapping=fields.read_mapping(mapping) if mapping else None,
        layer=layer,
        partial=partial,
        dry_run=dry_run,
    )
    report = report or Path(f"{path.stem}.errors.csv")
    with _connection() as connection:
        transaction = connection.begin()
        try:
            with _progress(progress and _err.is_terminal) as bar:
                result = service.import_file(connection, path, options, progress=_Bar(bar))
            if result.committable:
                with Session(connection) as session:
                    service.record_import(session, result, actor=actor)
            if result.errors:
                written = write_report(connection, report)
            if result.committable:
                transaction.commit()
            else:
                transaction.rollback()
        except BaseException:
            transaction.rollback()
            raise
    _print_result(result)
    if result.errors:
        typer.echo(f"error report: {report} ({written} lines)")
    if result.problem:
        raise BadRequest(result.problem)
    if result.errors and not partial:
        raise BadRequest(
            f"{result.errors} error(s) in {result.rejected} row(s); nothing imported "
            f"(see {report}; --partial imports the valid rows)"
        )


def write_report(connection: Connection, path: Path) -> int:
    lines = 0
    # With a byte order mark, so that Excel reads the Chinese in it.
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(("row", "field", "value", "reason"))
        for row in service.errors(connection):
            writer.writerow(("" if row[0] is None else row[0], *row[1:]))
            lines += 1
    return lines


def _print_result(result: service.ImportResult) -> None:
    verb = "would be" if result.dry_run or not result.committable else ""
    typer.echo(
        f"{result.file}: {result.format or '?'}"
        + (f", {result.encoding}" if result.encoding else "")
        + f", {result.rows} rows"
    )
    if result.columns:
        typer.echo(
            "columns: " + ", ".join(f"{h}->{f}" if h != f else h for h, f in result.columns.items())
        )
    if result.ignored_columns:
        typer.echo("ignored columns: " + ", ".join(result.ignored_columns))
    if result.problem is None and (not result.errors or result.partial):
        typer.echo(
            f"{result.inserted} inserted, {result.updated} updated, {result.unchanged} unchanged"
            f"{' (' + verb.strip() + ')' if verb else ''}; {result.rejected} rejected"
        )
        if not result.written and not result.dry_run and result.committable:
            typer.echo("nothing changed: the registry already holds these rows")


def export_command(
    path: Annotated[Path, typer.Argument(help="output file; - for standard output")],
    file_format: Annotated[
        ExportFormat | None, typer.Option("--format", help="default: from the suffix")
    ] = None,
    bbox: Annotated[str | None, typer.Option(help="west,south,east,north")] = None,
    admin_code: Annotated[str | None, typer.Option(help="GB/T 2260 code, any level")] = None,
    wartime_function: WartimeFunction | None = None,
    construction_form: ConstructionForm | None = None,
    status: FacilityStatus | None = None,
    min_capacity: int | None = None,
    q: Annotated[str | None, typer.Option(help="text in the name or address")] = None,
    include_deleted: bool = False,
    progress: Annotated[bool, typer.Option(help="show a progress bar")] = True,
) -> None:
    """Export facilities with the filters of GET /v1/facilities (the API's /v1/export)."""
    chosen = file_format or _format_of(path)
    to_stdout = str(path) == "-"
    if to_stdout and chosen in (ExportFormat.gpkg, ExportFormat.fgb):
        raise BadRequest(f"{chosen.value} needs a file, not standard output")
    with _connection() as connection, connection.begin():
        where = _filter(
            connection,
            bbox=bbox,
            admin_code=admin_code,
            wartime_function=wartime_function,
            construction_form=construction_form,
            status=status,
            min_capacity=min_capacity,
            q=q,
            include_deleted=include_deleted,
        )
        if to_stdout:
            exports.prepare(connection)
            for chunk in exports.stream_text(connection, where, chosen):
                sys.stdout.buffer.write(chunk)
            sys.stdout.buffer.flush()
            return
        total = repository.count(connection, where)
        with _progress(progress and _err.is_terminal) as bar:
            task = bar.add_task("exporting", total=total)
            exports.write_file(
                connection, where, chosen, path, progress=lambda n: bar.advance(task, n)
            )
    typer.echo(f"exported {total} facilities to {path} ({chosen.value})")


def _format_of(path: Path) -> ExportFormat:
    for file_format, suffix in exports.SUFFIXES.items():
        if path.suffix.lower() == suffix:
            return file_format
    if path.suffix.lower() in (".json",):
        return ExportFormat.geojson
    raise BadRequest(f"cannot tell the format from {path.name!r}; pass --format")


def _filter(
    connection: Connection, *, bbox: str | None, admin_code: str | None, **rest
) -> FacilityFilter:
    admin_level = None
    if admin_code is not None:
        with Session(connection) as session:
            admin_level = divisions.level_of(session, admin_code)
        if admin_level is None:
            raise BadRequest(f"admin_code: {admin_code} is not a known GB/T 2260 division code")
    q = rest.pop("q")
    return FacilityFilter(
        bbox=parse_bbox(bbox) if bbox else None,
        admin_level=admin_level,
        admin_code=admin_code,
        q=q.strip() or None if q else None,
        **rest,
    )


def stats_command() -> None:
    """A short summary: facilities by city, status and wartime function, with parking spaces."""
    console = Console()
    with _connection() as connection, connection.begin(), Session(connection) as session:
        summary = stats.summary(session)
    table = Table(title="Facilities by city", title_justify="left")
    for header in ("city", "code", "facilities", "in service", "shelter persons", "parking spaces"):
        table.add_column(header, justify="left" if header in ("city", "code") else "right")
    for row in summary["cities"]:
        table.add_row(*(f"{v:,}" if isinstance(v, int) else str(v or "") for v in row))
    console.print(table)
    for title, rows in (("Status", summary["status"]), ("Wartime function", summary["function"])):
        small = Table(title=title, title_justify="left")
        small.add_column(title.lower())
        small.add_column("facilities", justify="right")
        for name, count in rows:
            small.add_row(str(name), f"{count:,}")
        console.print(small)
