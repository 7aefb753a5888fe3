from sqlalchemy import create_engine, inspect

from tests.conftest import run_migrations

TABLES = {
    "division",
    "facility",
    "entrance",
    "protection_unit",
    "peacetime_use",
    "parking_occupancy",
    "api_key",
    "audit_event",
    "idempotency_record",
    "photo",
    "sign",
    "signage_rule",
    "maintenance_item",
    "maintenance_record",
    "maintenance_check",
    "problem_report",
}


def test_upgrade_downgrade_upgrade_on_an_empty_database(make_database):
    engine = create_engine(make_database())
    try:
        with engine.begin() as connection:
            run_migrations(connection)
            assert set(inspect(connection).get_table_names()) >= TABLES
            assert connection.exec_driver_sql("SELECT count(*) FROM division").scalar() == 26
        with engine.begin() as connection:
            run_migrations(connection, "base", down=True)
            assert not TABLES & set(inspect(connection).get_table_names())
        with engine.begin() as connection:
            run_migrations(connection)
            assert set(inspect(connection).get_table_names()) >= TABLES
    finally:
        engine.dispose()


def test_models_match_the_migrations(connection):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from app.db.models import Base, include_object

    context = MigrationContext.configure(
        connection, opts={"include_object": include_object, "compare_type": True}
    )
    assert compare_metadata(context, Base.metadata) == []


def test_check_constraints_of_the_models_are_the_migrations(connection):
    """compare_metadata above leaves CHECK constraints out: each model's is read by
    PostgreSQL on a bare copy of its table and compared with the migrated one."""
    from sqlalchemy import CheckConstraint, text
    from sqlalchemy.dialects import postgresql

    from app.db.models import Base

    def definition(table: str, name: str) -> str | None:
        return connection.execute(
            text(
                "SELECT pg_get_constraintdef(oid) FROM pg_constraint "
                "WHERE conrelid = CAST(:table AS regclass) AND conname = :name"
            ),
            {"table": table, "name": name},
        ).scalar()

    for table in Base.metadata.sorted_tables:
        checks = [c for c in table.constraints if isinstance(c, CheckConstraint)]
        migrated = set(
            connection.execute(
                text(
                    "SELECT conname FROM pg_constraint "
                    "WHERE conrelid = CAST(:table AS regclass) AND contype = 'c'"
                ),
                {"table": table.name},
            ).scalars()
        )
        assert {c.name for c in checks} == migrated, table.name
        connection.execute(text(f"CREATE TEMP TABLE probe (LIKE {table.name})"))
        for check in checks:
            sql = str(
                check.sqltext.compile(
                    dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}
                )
            ).replace(f"{table.name}.", "")
            connection.execute(text(f"ALTER TABLE probe ADD CONSTRAINT {check.name} CHECK ({sql})"))
            assert definition("probe", check.name) == definition(table.name, check.name)
        connection.execute(text("DROP TABLE probe"))
