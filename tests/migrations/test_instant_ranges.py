"""Migration 0016: the dates and instants callers give are held to 1900-01-01 to
2100-12-31 by the database; rows from before, outside that range, are reported and kept."""

import logging

import pytest
from sqlalchemy import Connection, create_engine, text
from sqlalchemy.exc import IntegrityError

from tests.conftest import run_migrations

FACILITY = (
    "INSERT INTO facility (code, name, address, province_code, location, construction_form, "
    "wartime_function, status, verified_at) VALUES (:code, '人防车库', '合肥市蜀山区', '340000', "
    "ST_SetSRID(ST_MakePoint(117.23, 31.83), 4326), 'attached', 'personnel_shelter', "
    "'in_service', :value) RETURNING id"
)
# At the head a work's visibility has no default (migration 0017).
FACILITY_AT_HEAD = FACILITY.replace(
    "status, verified_at)", "status, visibility, verified_at)"
).replace("'in_service', :value)", "'in_service', 'public', :value)")
# (table, column, an insert of :value there for facility :id, a value inside, one outside)
WRITES = [
    (
        "facility",
        "verified_at",
        FACILITY_AT_HEAD.replace(":code", "'RF-CK-002'"),
        "2100-12-31T23:59:59.999999Z",
        "0001-01-01T00:00:00+14:00",
    ),
    (
        "peacetime_use",
        "realtime_observed_at",
        "INSERT INTO peacetime_use (facility_id, type, location, realtime_observed_at) "
        "SELECT id, 'parking', CAST(location AS geography), :value FROM facility WHERE id = :id",
        "1900-01-01T00:00:00Z",
        "1899-12-31T23:59:59.999999Z",
    ),
    (
        "parking_occupancy",
        "observed_at",
        "INSERT INTO parking_occupancy (facility_id, observed_at, free_spaces, opening_status) "
        "VALUES (:id, :value, 10, 'OPEN')",
        "2024-07-01T08:00:00+08:00",
        "-infinity",
    ),
    (
        "sign",
        "installed_on",
        "INSERT INTO sign (facility_id, kind, status, installed_on) "
        "VALUES (:id, 'direction', 'installed', :value)",
        "1900-01-01",
        "0202-05-01",
    ),
    (
        "sign",
        "inspected_on",
        "INSERT INTO sign (facility_id, kind, status, inspected_on) "
        "VALUES (:id, 'direction', 'planned', :value)",
        "2100-12-31",
        "2101-01-01",
    ),
    (
        "maintenance_record",
        "performed_on",
        "INSERT INTO maintenance_record (facility_id, kind, performed_on, performed_by) "
        "VALUES (:id, 'inspection', :value, '维护班组')",
        "2026-01-31",
        "1899-12-31",
    ),
]


def _facility(
    connection: Connection, code: str, verified_at: str | None = None, *, insert: str = FACILITY
) -> int:
    return connection.execute(text(insert), {"code": code, "value": verified_at}).scalar_one()


@pytest.mark.parametrize(("table", "column", "insert", "inside", "outside"), WRITES)
def test_raw_writes_outside_the_range_are_refused(
    connection, table, column, insert, inside, outside
):
    facility_id = _facility(connection, "RF-CK-001", insert=FACILITY_AT_HEAD)
    with connection.begin_nested():
        connection.execute(text(insert), {"id": facility_id, "value": inside})
    with pytest.raises(IntegrityError) as refused, connection.begin_nested():
        connection.execute(
            text(insert.replace("RF-CK-002", "RF-CK-003")), {"id": facility_id, "value": outside}
        )
    assert refused.value.orig.diag.constraint_name == f"ck_{table}_{column}_range"


def test_rows_outside_the_range_are_reported_and_kept_until_corrected(make_database, caplog):
    engine = create_engine(make_database())
    try:
        with engine.begin() as connection:
            run_migrations(connection, "0015")
            bad = [
                _facility(connection, f"RF-OLD-{n:03d}", "0001-01-01T00:00:00+14:00")
                for n in range(11)
            ]
            good = _facility(connection, "RF-NEW-001", "2024-05-10T09:00:00+08:00")
            connection.execute(
                text(
                    "INSERT INTO sign (facility_id, kind, status, installed_on) "
                    "VALUES (:id, 'direction', 'installed', '0202-05-01')"
                ),
                {"id": good},
            )
        with caplog.at_level(logging.INFO, logger="alembic"), engine.begin() as connection:
            run_migrations(connection, "0016")
        ids = ", ".join(map(str, bad[:10]))
        assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == [
            f"facility.verified_at: 11 row(s) outside 1900-01-01 to 2100-12-31 (id {ids} ...); "
            "ck_facility_verified_at_range is added NOT VALID: new writes are checked, these "
            "rows stay for an admin to correct, then ALTER TABLE facility VALIDATE CONSTRAINT "
            "ck_facility_verified_at_range",
            "sign.installed_on: 1 row(s) outside 1900-01-01 to 2100-12-31 (id 1); "
            "ck_sign_installed_on_range is added NOT VALID: new writes are checked, these rows "
            "stay for an admin to correct, then ALTER TABLE sign VALIDATE CONSTRAINT "
            "ck_sign_installed_on_range",
        ]
        with engine.begin() as connection:
            validated = dict(
                connection.execute(
                    text(
                        "SELECT conname, convalidated FROM pg_constraint "
                        "WHERE conname = ANY(:names)"
                    ),
                    {"names": [f"ck_{table}_{column}_range" for table, column, *_ in WRITES]},
                ).all()
            )
            assert validated == {
                "ck_facility_verified_at_range": False,
                "ck_sign_installed_on_range": False,
                "ck_peacetime_use_realtime_observed_at_range": True,
                "ck_parking_occupancy_observed_at_range": True,
                "ck_sign_inspected_on_range": True,
                "ck_maintenance_record_performed_on_range": True,
            }
            kept = "SELECT count(*) FROM facility WHERE verified_at < '1900-01-01Z'"
            assert connection.execute(text(kept)).scalar() == 11
            # New writes are checked, old rows too once they are written again.
            with pytest.raises(IntegrityError), connection.begin_nested():
                _facility(connection, "RF-NEW-002", "0001-01-01T00:00:00+14:00")
            with pytest.raises(IntegrityError), connection.begin_nested():
                connection.execute(
                    text("UPDATE facility SET name = '新名字' WHERE id = :id"), {"id": bad[0]}
                )
            connection.execute(
                text("UPDATE facility SET verified_at = NULL WHERE id = ANY(:ids)"), {"ids": bad}
            )
            connection.execute(
                text("ALTER TABLE facility VALIDATE CONSTRAINT ck_facility_verified_at_range")
            )
        with engine.begin() as connection:
            run_migrations(connection, "0015", down=True)
            left = connection.execute(
                text(
                    "SELECT count(*) FROM pg_constraint WHERE conname LIKE '%\\_at\\_range' "
                    "OR conname LIKE '%\\_on\\_range'"
                )
            ).scalar()
            assert left == 0
    finally:
        engine.dispose()
