"""Occupancy history and the audit trail (migration 0019) and shelter status history
(0025) by month, app.db.partitions: partitions made ahead, pushes landing in their month,
queries by time reading only the months they ask for, and retention dropping whole
months."""

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.dialects import postgresql

from app.db import partitions
from app.shelters import status
from tests.parking.test_occupancy import car_park, report, url  # noqa: F401 - fixture
from tests.shelters import test_status as shelter_status


def month_start(months_from_now: int) -> datetime:
    now = datetime.now(UTC)
    year, month = divmod(now.month - 1 + months_from_now, 12)
    return datetime(now.year + year, month + 1, 1, tzinfo=UTC)


def partition_names(connection, parent: str) -> set[str]:
    return set(
        connection.execute(
            text(
                "SELECT inhrelid::regclass::text FROM pg_inherits WHERE inhparent = CAST(:p AS regclass)"
            ),
            {"p": parent},
        ).scalars()
    )


def month_name(parent: str, start: datetime) -> str:
    return f"{parent}_y{start:%Y}m{start:%m}"


@pytest.mark.parametrize("parent", partitions.PARTITIONED)
def test_the_coming_months_have_their_partitions(connection, parent):
    names = partition_names(connection, parent)
    assert {f"{parent}_history", f"{parent}_default"} <= names
    for ahead in range(1, partitions.MONTHS_AHEAD + 1):
        assert month_name(parent, month_start(ahead)) in names


def scanned(connection, sql: str, params: dict) -> set[str]:
    plan = connection.exec_driver_sql("EXPLAIN (FORMAT JSON) " + sql, params).scalar()
    return {
        node["Relation Name"]
        for node in _nodes(plan if isinstance(plan, list) else json.loads(plan))
        if "Relation Name" in node
    }


def test_a_query_by_time_reads_only_its_months(connection):
    start, end = month_start(1), month_start(2)
    sql = (
        "SELECT * FROM parking_occupancy"
        " WHERE facility_id = 1 AND observed_at >= %(start)s AND observed_at < %(end)s"
    )
    assert scanned(connection, sql, {"start": start, "end": end}) == {
        month_name("parking_occupancy", start)
    }


@pytest.mark.parametrize("months", [(1, 1), (1, 2)])
def test_the_shelter_status_history_reads_only_its_months(connection, months):
    # The statement GET .../shelter/status/history sends, as the driver gets it.
    start = month_start(months[0])
    until = month_start(months[1] + 1) - timedelta(microseconds=1)
    query = status.history_query(1, since=start, until=until, limit=100)
    compiled = query.compile(dialect=postgresql.psycopg.dialect())
    expected = {
        month_name("shelter_status", month_start(m)) for m in range(months[0], months[1] + 1)
    }
    assert scanned(connection, str(compiled), compiled.params) == expected


def _nodes(plan):
    for item in plan if isinstance(plan, list) else [plan]:
        node = item.get("Plan", item)
        yield node
        yield from _nodes(node.get("Plans", []))


def test_pushes_and_their_audit_land_in_the_partitioned_tables(client, car_park, connection):  # noqa: F811
    assert client.put(url(car_park), json=report(free=42)).status_code == 200
    stored = connection.execute(
        text(
            "SELECT tableoid::regclass::text, free_spaces FROM parking_occupancy"
            " WHERE facility_id = :id"
        ),
        {"id": car_park},
    ).one()
    # Before next month the history partition covers this month (upgrade made it so).
    assert stored.free_spaces == 42
    assert stored[0] in partition_names(connection, "parking_occupancy")
    audited = connection.execute(
        text("SELECT count(*) FROM audit_event WHERE facility_id = :id"), {"id": car_park}
    ).scalar()
    assert audited >= 1


def test_shelter_status_reports_land_in_the_partitioned_table(client, create, connection):
    shelter = create(capacity_persons=1000, shelter_area=1000)["id"]
    put = client.put(shelter_status.url(shelter), json=shelter_status.body(persons=7))
    assert put.status_code == 200
    stored = connection.execute(
        text("SELECT tableoid::regclass::text, persons_inside FROM shelter_status"
             " WHERE facility_id = :id"),
        {"id": shelter},
    ).one()  # fmt: skip
    assert stored.persons_inside == 7
    assert stored[0] in partition_names(connection, "shelter_status")
    # The latest report is found across the partitions, as the finder looks it up.
    assert client.get(shelter_status.url(shelter)).json()["persons_inside"] == 7


def test_partitions_are_made_once_and_dropped_past_retention(connection):
    connection.execute(
        text(
            "CREATE TABLE scratch (at timestamptz NOT NULL) PARTITION BY RANGE (at);"
            " CREATE TABLE scratch_default PARTITION OF scratch DEFAULT;"
            " CREATE TABLE scratch_y2020m01 PARTITION OF scratch"
            "  FOR VALUES FROM ('2020-01-01 00:00+00') TO ('2020-02-01 00:00+00')"
        )
    )
    # A row of the month after next waits in the default partition: its month is skipped.
    connection.execute(text("INSERT INTO scratch VALUES (:at)"), {"at": month_start(2)})
    made = connection.execute(text("SELECT month_partitions('scratch', 2)")).scalar()
    assert made == 2
    assert connection.execute(text("SELECT month_partitions('scratch', 2)")).scalar() == 0
    names = partition_names(connection, "scratch")
    assert month_name("scratch", month_start(0)) in names
    assert month_name("scratch", month_start(2)) not in names

    assert connection.execute(text("SELECT drop_old_partitions('scratch', 1)")).scalar() == 1
    names = partition_names(connection, "scratch")
    assert "scratch_y2020m01" not in names
    assert {"scratch_default", month_name("scratch", month_start(0))} <= names


def test_the_keeper_makes_the_months_ahead_again(connection, settings):
    furthest = month_name("parking_occupancy", month_start(partitions.MONTHS_AHEAD))
    connection.execute(text(f"DROP TABLE {furthest}"))
    retention = settings.model_copy(update={"occupancy_retention_months": 1})
    partitions.keep(connection, retention)
    names = partition_names(connection, "parking_occupancy")
    # The history partition ends next month: the retention leaves it be.
    assert {furthest, "parking_occupancy_history"} <= names


@pytest.mark.parametrize(
    ("table", "setting"),
    [
        ("parking_occupancy", "occupancy_retention_months"),
        ("shelter_status", "shelter_status_retention_months"),
    ],
)
def test_each_retention_drops_its_own_table_s_old_months(connection, settings, table, setting):
    # An old month of its own, in place of the history partition that covers it now.
    old = f"{table}_y2020m01"
    connection.execute(text(f"ALTER TABLE {table} DETACH PARTITION {table}_history"))
    connection.execute(
        text(f"CREATE TABLE {old} PARTITION OF {table}"
             " FOR VALUES FROM ('2020-01-01 00:00+00') TO ('2020-02-01 00:00+00')")
    )  # fmt: skip
    partitions.keep(connection, settings.model_copy(update={setting: 0}))
    assert old in partition_names(connection, table)
    partitions.keep(connection, settings.model_copy(update={setting: 12}))
    names = partition_names(connection, table)
    assert old not in names
    assert month_name(table, month_start(partitions.MONTHS_AHEAD)) in names
