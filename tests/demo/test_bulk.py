"""app.demo.bulk: the secondary indexes of the empty tables the demo's COPYs fill are
dropped for the load and built again after it, the same as before; unique indexes and the
indexes of tables that hold rows stay throughout."""

from sqlalchemy import Connection, text

from app import demo
from app.demo import bulk

INDEXES = text(
    "SELECT indexname, indexdef FROM pg_indexes"
    " WHERE schemaname = 'public' AND tablename = ANY(:tables)"
)


def indexes(connection: Connection, tables) -> dict[str, str]:
    return dict(connection.execute(INDEXES, {"tables": list(tables)}).all())


def test_a_load_into_empty_tables_builds_the_same_indexes_after(connection: Connection) -> None:
    assert connection.execute(text("SELECT count(*) FROM facility")).scalar() == 0
    before = indexes(connection, bulk.TABLES)
    with bulk.indexes_built_after(connection):
        during = indexes(connection, bulk.TABLES)
        assert "ix_facility_location" not in during
        assert "ix_facility_search" not in during
        assert "ix_entrance_location" not in during
        # What enforces a rule stays: keys and unique constraints.
        assert {"pk_facility", "uq_facility_code", "uq_protection_unit_facility_id"} <= set(during)
    assert indexes(connection, bulk.TABLES) == before
    # The demo load drops and builds them itself.
    assert demo.load(connection, size=300) == 300
    assert indexes(connection, bulk.TABLES) == before
    # The rebuilt index serves its queries.
    plan = connection.execute(
        text(
            "EXPLAIN SELECT id FROM facility"
            " WHERE location && ST_MakeEnvelope(117.2, 31.8, 117.3, 31.9, 4326)"
        )
    ).scalars()
    assert "ix_facility_location" in "\n".join(plan)


def test_a_table_with_rows_keeps_its_indexes(connection: Connection) -> None:
    connection.execute(
        text(
            "CREATE TABLE bulk_full (a int); CREATE INDEX ix_bulk_full_a ON bulk_full (a);"
            " INSERT INTO bulk_full VALUES (1);"
            " CREATE TABLE bulk_empty (a int); CREATE INDEX ix_bulk_empty_a ON bulk_empty (a)"
        )
    )
    tables = ("bulk_full", "bulk_empty")
    before = indexes(connection, tables)
    with bulk.indexes_built_after(connection, tables):
        assert set(indexes(connection, tables)) == {"ix_bulk_full_a"}
    assert indexes(connection, tables) == before
