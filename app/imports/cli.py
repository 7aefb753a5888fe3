"""`rf import`, registered on the `rf` command in app/cli.py: one transaction,
committed only when the import is clean (or --partial)."""

import csv
import enum
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import (
    Progress,
    TaskID,
)
from sqlalchemy import Connection
from sqlalchemy.orm import Session

from app.config import Settings
from app.core import commands
from app.core.errors import BadRequest
from app.core.geo import CoordSys
from app.core.i18n import LANGUAGES
from app.db.session import command_connection
from app.imports import fields, service, staging, tables
from app.imports import report as reporting
from app.imports.readers import FileFormat
from app.imports.tables import Table

Language = enum.StrEnum("Language", {code: code for code in LANGUAGES})


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


def import_command(
    path: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="the file to import")],
    table: Annotated[
        Table,
        typer.Option(
            help="what the rows are: facilities, or the uses, signs or maintenance records "
            "of facilities named by registry code"
        ),
    ] = Table.facilities,
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
    header_row: Annotated[
        int | None,
        typer.Option(
            min=1,
            max=1000,
            help="XLSX: the header's row (default: the first row naming fields, below titles)",
        ),
    ] = None,
    dry_run: Annotated[bool, typer.Option(help="check and count, write nothing")] = False,
    partial: Annotated[
        bool, typer.Option(help="write the valid rows and report the others")
    ] = False,
    report: Annotated[
        Path | None,
        typer.Option(help="where the error report goes (default: FILE.errors.csv here)"),
    ] = None,
    actor: Annotated[str, typer.Option(help="who imports, for the audit trail")] = "cli",
    language: Annotated[
        Language | None,
        typer.Option(help="of the error report's reasons (default: RF_DEFAULT_LANGUAGE)"),
    ] = None,
    progress: Annotated[bool, typer.Option(help="show a progress bar")] = True,
) -> None:
    """Import facilities (or their uses, signs or maintenance records) from CSV, XLSX,
    GeoJSON, NDJSON, GeoPackage, Shapefile or FlatGeobuf.

    All rows or none, unless --partial. Rows are matched on the registry code: a known code
    updates its facility, and a row equal to what is stored changes nothing."""
    options = service.ImportOptions(
        table=table,
        file_format=file_format,
        encoding=encoding,
        coordsys=coordsys,
        mapping=fields.read_mapping(mapping, tables.known_fields(table)) if mapping else None,
        layer=layer,
        header_row=header_row,
        partial=partial,
        dry_run=dry_run,
    )
    report = report or Path(f"{path.stem}.errors.csv")
    with _connection() as connection:
        transaction = connection.begin()
        try:
            with (
                commands.progress_bar(progress and commands.err.is_terminal) as bar,
                Session(connection) as session,
            ):
                result = service.run_import(session, path, options, actor=actor, progress=_Bar(bar))
            if result.errors:
                written = write_report(
                    connection,
                    report,
                    columns=result.columns,
                    language=(language or Settings().default_language),
                )
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


@contextmanager
def _connection() -> Iterator[Connection]:
    # Room for the staging tables (see staging.TEMP_BUFFERS).
    with command_connection(temp_buffers=staging.TEMP_BUFFERS) as connection:
        yield connection


def write_report(
    connection: Connection, path: Path, *, columns: dict[str, str], language: str
) -> int:
    # With a byte order mark, so that Excel reads the Chinese in it.
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        lines = reporting.lines(service.errors(connection), columns=columns, language=language)
        writer.writerow(next(lines))
        count = 0
        for line in lines:
            writer.writerow(line)
            count += 1
    return count


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
