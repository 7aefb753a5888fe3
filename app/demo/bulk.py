"""Indexes built after a bulk load instead of kept up row by row during it.

A demo set of millions of facilities writes tens of millions of rows: kept up row by row,
the trigram and spatial indexes cost more than the rows (a GiST insert picks its page by
penalties down the tree, a geography GiST has no sorted build), and the load grows worse
than linearly with its size. Built once over the loaded table they cost a fraction. Only
the indexes of tables that hold no row yet are dropped, and only those that enforce
nothing (no unique index, no constraint's, none a table is clustered on): the loading
statements still meet every key, and a table with rows keeps its indexes for the queries
already using them. The drop and the build are in the caller's transaction, so a failed
load leaves every index where it was; the drop locks the empty table against readers
until the commit.
"""

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from sqlalchemy import Connection, exists, select, table, text

# What the COPYs of a demo load fill (app.demo.facilities). The domains' set-based
# inserts after it (uses, signs ...) keep every index: their own statements and triggers
# look rows up by facility (use_search_refresh reads each use's entrances).
TABLES = ("facility", "entrance", "protection_unit")

_SECONDARY = text(
    "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i"
    " WHERE i.indrelid = CAST(:table AS regclass) AND NOT i.indisunique AND NOT i.indisclustered"
    " AND NOT EXISTS (SELECT FROM pg_constraint c WHERE c.conindid = i.indexrelid)"
    " ORDER BY 1"
)


@contextmanager
def indexes_built_after(connection: Connection, tables: Sequence[str] = TABLES) -> Iterator[None]:
    """Drops the secondary indexes of those `tables` that are empty, and builds them again
    (the same definitions, the same names) when the block is done."""
    dropped: list[str] = []
    for name in tables:
        if connection.scalar(select(exists().select_from(table(name, schema="public")))):
            continue
        found = connection.execute(_SECONDARY, {"table": f"public.{name}"}).all()
        for index, definition in found:
            # Names and definitions as PostgreSQL renders them: quoted where needed.
            connection.exec_driver_sql(f"DROP INDEX {index}")
            dropped.append(definition)
    yield
    if dropped:
        # Builds sort in memory; the default 64 MB spills a million rows to disk.
        connection.execute(text("SET LOCAL maintenance_work_mem = '1GB'"))
    for definition in dropped:
        connection.exec_driver_sql(definition)
