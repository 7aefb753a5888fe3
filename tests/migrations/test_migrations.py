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
