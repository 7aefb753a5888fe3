"""The frozen copies in migrations/sql/REVISION are what the database has at that
revision (0018 holds what migrations 0001-0018 left, frozen once): applying one there
changes nothing. app/db/sql, the current text, is held to the head by tests/db/test_sql.py."""

from pathlib import Path

from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, create_engine

from app.config import Settings
from tests.conftest import run_migrations
from tests.db.test_sql import catalogue, defines, execute

SCRIPTS = ScriptDirectory.from_config(Config(str(Settings(database_url="unused").alembic_ini)))
COPIES = Path(SCRIPTS.dir) / "sql"


def assert_unchanged_by(connection: Connection, revision: Path) -> None:
    before = catalogue(connection)
    for path in sorted(revision.rglob("*.sql")):
        name = path.relative_to(revision).with_suffix("").as_posix()
        assert defines(path.read_text()) == [name], path
        savepoint = connection.begin_nested()
        try:
            execute(connection, path.read_text())
            after = catalogue(connection)
        finally:
            savepoint.rollback()
        assert after == before, f"{path} is not what revision {revision.name} made"


def test_frozen_copies_are_what_their_revision_made(connection, make_database):
    head = SCRIPTS.get_current_head()
    for revision in sorted(p for p in COPIES.iterdir() if p.is_dir()):
        if revision.name == head:
            assert_unchanged_by(connection, revision)
            continue
        engine = create_engine(make_database())
        try:
            with engine.begin() as scratch:
                run_migrations(scratch, revision.name)
                assert_unchanged_by(scratch, revision)
        finally:
            engine.dispose()
