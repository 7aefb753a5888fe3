"""The range of dates and instants: its Python and SQL forms agree at the edges."""

from datetime import date, datetime

import pytest
from sqlalchemy import text

from app.core import dates

INSTANTS = [
    ("1899-12-31T23:59:59.999999+00:00", False),
    ("1900-01-01T00:00:00+00:00", True),
    ("1900-01-01T07:59:59+08:00", False),
    ("2100-12-31T23:59:59.999999+00:00", True),
    ("2101-01-01T07:00:00+08:00", True),
    ("2101-01-01T00:00:00+00:00", False),
    # A day of 1 BC in UTC, and a year 10000 one: Python holds neither.
    ("0001-01-01T00:00:00+14:00", False),
    ("9999-12-31T23:00:00-14:00", False),
]
DAYS = [("1899-12-31", False), ("1900-01-01", True), ("2100-12-31", True), ("2101-01-01", False)]


@pytest.mark.parametrize(("moment", "inside"), INSTANTS)
def test_instants_compare_in_utc_alike_in_python_and_sql(connection, moment, inside):
    assert dates.instant_in_range(datetime.fromisoformat(moment)) is inside
    sql = text(f"SELECT {dates.instant_range_sql('CAST(:t AS timestamptz)')}")
    # In a session zone far from UTC, which the condition must not depend on.
    connection.execute(text("SET LOCAL TimeZone = 'Pacific/Kiritimati'"))
    assert connection.scalar(sql, {"t": moment}) is inside


@pytest.mark.parametrize(("day", "inside"), DAYS)
def test_days_alike_in_python_and_sql(connection, day, inside):
    assert dates.day_in_range(date.fromisoformat(day)) is inside
    sql = text(f"SELECT {dates.day_range_sql('CAST(:d AS date)')}")
    assert connection.scalar(sql, {"d": day}) is inside


@pytest.mark.parametrize("special", ["-infinity", "infinity"])
def test_sql_refuses_the_infinities(connection, special):
    assert not connection.scalar(
        text(f"SELECT {dates.instant_range_sql('CAST(:t AS timestamptz)')}"), {"t": special}
    )
    assert not connection.scalar(
        text(f"SELECT {dates.day_range_sql('CAST(:t AS date)')}"), {"t": special}
    )
