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

    from app.models import Base, include_object

    context = MigrationContext.configure(
        connection, opts={"include_object": include_object, "compare_type": True}
    )
    assert compare_metadata(context, Base.metadata) == []


def test_check_constraints_of_the_models_are_the_migrations(connection):
    """compare_metadata above leaves CHECK constraints out: each model's is read by
    PostgreSQL on a bare copy of its table and compared with the migrated one."""
    from sqlalchemy import CheckConstraint, text
    from sqlalchemy.dialects import postgresql

    from app.models import Base

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


def test_0017_restricts_command_posts_and_what_the_database_keeps_for_the_public(
    make_database,
):
    """Works stored before 0017 get their visibility from their function; the nearby
    search rows and figures follow, and downgrading restores what 0015 kept."""
    engine = create_engine(make_database())
    works = """
        INSERT INTO facility (code, name, address, province_code, city_code, location,
                              construction_form, wartime_function, status)
        VALUES ('RF-M-POST', '指挥所', '合肥市', '340000', '340100',
                ST_SetSRID(ST_MakePoint(117.22, 31.82), 4326), 'attached', 'command_post',
                'in_service'),
               ('RF-M-SHELTER', '掩蔽所', '合肥市', '340000', '340100',
                ST_SetSRID(ST_MakePoint(117.23, 31.82), 4326), 'attached',
                'personnel_shelter', 'in_service');
        INSERT INTO entrance (facility_id, kind, location)
        SELECT id, 'wartime', location FROM facility;
        INSERT INTO peacetime_use (facility_id, type, attributes)
        SELECT id, 'parking', '{"total_spaces": 10}' FROM facility;
    """
    searched = (
        "SELECT f.code, s.entrance_docs IS NOT NULL FROM use_search s "
        "JOIN facility f ON f.id = s.facility_id ORDER BY f.code"
    )
    try:
        with engine.begin() as connection:
            run_migrations(connection, "0015")
            connection.exec_driver_sql(works)
            assert connection.exec_driver_sql(searched).all() == [
                ("RF-M-POST", True),
                ("RF-M-SHELTER", True),
            ]
            run_migrations(connection, "0017")
            visibility = dict(
                connection.exec_driver_sql("SELECT code, visibility FROM facility").all()
            )
            assert visibility == {"RF-M-POST": "restricted", "RF-M-SHELTER": "public"}
            # the shelter's only entrance is a wartime one: searches no longer lead there
            assert connection.exec_driver_sql(searched).all() == [("RF-M-SHELTER", False)]
            figures = connection.exec_driver_sql(
                "SELECT f.code, g.visibility FROM facility_figure g "
                "JOIN facility f ON f.id = g.facility_id ORDER BY f.code"
            ).all()
            assert figures == [("RF-M-POST", "restricted"), ("RF-M-SHELTER", "public")]
            run_migrations(connection, "0015", down=True)
            assert connection.exec_driver_sql(searched).all() == [
                ("RF-M-POST", True),
                ("RF-M-SHELTER", True),
            ]
    finally:
        engine.dispose()
