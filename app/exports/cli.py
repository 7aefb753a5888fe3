"""`rf export`, registered on the `rf` command in app/cli.py."""

import sys
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy.orm import Session

from app.core import commands
from app.core.errors import BadRequest
from app.core.geo import CoordSys
from app.db.session import command_connection
from app.exports import repository
from app.exports import service as exports
from app.exports.service import Export, ExportFormat
from app.facilities.models import ConstructionForm, FacilityStatus, WartimeFunction
from app.facilities.service import make_filter


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
    coordsys: Annotated[
        CoordSys, typer.Option(help="system of the positions written: wgs84, cgcs2000, gcj02, bd09")
    ] = CoordSys.wgs84,
    crs: Annotated[
        str | None,
        typer.Option(help="gpkg and fgb: a Gauss-Krüger zone, EPSG:4513-4554 (Hefei: EPSG:4548)"),
    ] = None,
    progress: Annotated[bool, typer.Option(help="show a progress bar")] = True,
) -> None:
    """Export facilities with the filters of GET /v1/facilities (the API's /v1/export)."""
    chosen = file_format or _format_of(path)
    positions = exports.positions_for(chosen, coordsys, crs)
    to_stdout = str(path) == "-"
    if to_stdout and chosen in exports.FILE_FORMATS:
        raise BadRequest(f"{chosen.value} needs a file, not standard output")
    with command_connection() as connection, connection.begin():
        with Session(connection) as session:
            where = make_filter(
                session,
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
            for chunk in exports.stream_text(connection, Export(where, chosen, positions)):
                sys.stdout.buffer.write(chunk)
            sys.stdout.buffer.flush()
            return
        total = repository.count(connection, where)
        with commands.progress_bar(progress and commands.err.is_terminal) as bar:
            task = bar.add_task("exporting", total=total)
            export = Export(where, chosen, positions, lambda n: bar.advance(task, n))
            exports.write_file(connection, export, path)
    typer.echo(f"exported {total} facilities to {path} ({chosen.value})")


def _format_of(path: Path) -> ExportFormat:
    for file_format in ExportFormat:
        if path.suffix.lower() == file_format.suffix:
            return file_format
    if path.suffix.lower() in (".json",):
        return ExportFormat.geojson
    raise BadRequest(f"cannot tell the format from {path.name!r}; pass --format")
