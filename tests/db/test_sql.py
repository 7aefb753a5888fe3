"""app/db/sql holds the current definition of every function and trigger: the migrated
database must have exactly what the files say, and nothing the files do not say.

Each file is compared by applying it (CREATE OR REPLACE) to the migrated database in a
savepoint: PostgreSQL itself renders both sides (pg_get_functiondef, pg_get_triggerdef),
so a header written differently compares equal, and any change of body, signature,
volatility or event is a difference."""

import re

import pytest
from sqlalchemy import Connection

from app.db.sql import DIRECTORY, execute, files

# Objects of extensions (PostGIS, pg_trgm ...) live in public too: those are not ours.
CATALOGUE = """
SELECT 'functions/' || p.proname, pg_get_functiondef(p.oid)
FROM pg_proc p
WHERE p.pronamespace = 'public'::regnamespace
  AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass
                  AND d.objid = p.oid AND d.deptype = 'e')
UNION ALL
SELECT 'triggers/' || c.relname || '/' || t.tgname,
       pg_get_triggerdef(t.oid) || ' -- enabled: ' || t.tgenabled::text
FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
WHERE c.relnamespace = 'public'::regnamespace AND NOT t.tgisinternal
  AND t.tgparentid = 0  -- not the clones a partitioned table gives its partitions
"""
CREATES = re.compile(
    r"^CREATE OR REPLACE (?:FUNCTION public\.(?P<function>\w+)\("
    r"|TRIGGER (?P<trigger>\w+)\s.*?\sON public\.(?P<table>\w+)\s)",
    re.MULTILINE | re.DOTALL,
)


def catalogue(connection: Connection) -> list[tuple[str, str]]:
    return sorted(tuple(row) for row in connection.exec_driver_sql(CATALOGUE))


def defines(sql: str) -> list[str]:
    """What a file creates, named like the file: functions/NAME or triggers/TABLE/NAME."""
    return [
        f"functions/{m['function']}" if m["function"] else f"triggers/{m['table']}/{m['trigger']}"
        for m in CREATES.finditer(sql)
    ]


def name(path) -> str:
    return path.relative_to(DIRECTORY).with_suffix("").as_posix()


def test_every_function_and_trigger_has_its_file(connection):
    objects = [key for key, _ in catalogue(connection)]
    # one file per function name: an overload would need a file of its own
    assert len(objects) == len(set(objects))
    assert sorted(objects) == sorted(name(path) for path in files())


@pytest.mark.parametrize("path", files(), ids=name)
def test_the_database_has_what_the_file_says(connection, path):
    sql = path.read_text()
    assert defines(sql) == [name(path)], "a file creates the one object it is named after"
    before = catalogue(connection)
    savepoint = connection.begin_nested()
    try:
        execute(connection, sql)
        after = catalogue(connection)
    finally:
        savepoint.rollback()
    migrated = dict(before)[name(path)]
    assert dict(after)[name(path)] == migrated, f"{name(path)}.sql differs from the database"
    assert after == before
