"""The current definition of every function and trigger that the migrations create, one
file each: functions/NAME.sql and triggers/TABLE/NAME.sql, shipped with the package.

A migration never reads these files: a file changes when a later migration changes its
object, and an old revision must build the same database whatever the file says today.
A migration applies a frozen copy instead, migrations/sql/REVISION/..., taken when it was
written (`apply_frozen`). tests/db/test_sql.py holds the migrated database to these files and
requires a file for every function and trigger. See docs/database.md.
"""

from pathlib import Path

from sqlalchemy import Connection

DIRECTORY = Path(__file__).parent


def files() -> list[Path]:
    return sorted(DIRECTORY.glob("functions/*.sql")) + sorted(DIRECTORY.glob("triggers/*/*.sql"))


def execute(connection: Connection, sql: str) -> None:
    """Runs definitions as written: with no parameters bound through the driver, a `%` or
    a `:name` in a function body is not taken for a placeholder."""
    with connection.connection.cursor() as cursor:
        cursor.execute(sql)


def apply_frozen(revision: str, *names: str) -> None:
    """Applies the frozen copies `names` ("functions/stats_refresh",
    "triggers/facility/stats_update") of migration `revision`, in order. For migrations
    only: alembic's context knows where they are."""
    from alembic import context, op

    directory = Path(context.script.dir) / "sql" / revision
    for name in names:
        execute(op.get_bind(), (directory / f"{name}.sql").read_text())
