"""The one range of dates and instants the registry takes, in each form a path needs: a
Python test (API models, query parameters), an SQL condition (CHECK constraints, the
importer's set-wise checks) and the message of a refusal.

Wide enough for any record of a civil air defense work, narrow enough that every value
survives Python, PostgreSQL and the file formats of an export: a year before 1 or after
9999 breaks them, and `0001-01-01T00:00:00+14:00` is a day of 1 BC in UTC."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from app.core.errors import InvalidInput

# China's one time zone: the registry's days (due dates, "today", holidays) are its days,
# whatever zone the host runs in; a container's is usually UTC, eight hours behind.
SHANGHAI = ZoneInfo("Asia/Shanghai")

FIRST_DAY = date(1900, 1, 1)
LAST_DAY = date(2100, 12, 31)
# Instants compare in UTC; the end is excluded, so the whole last day is in.
FIRST_INSTANT = datetime.combine(FIRST_DAY, time(), UTC)
END_INSTANT = datetime.combine(LAST_DAY + timedelta(days=1), time(), UTC)

DAY_MESSAGE = f"must lie between {FIRST_DAY} and {LAST_DAY}"
INSTANT_MESSAGE = f"{DAY_MESSAGE} (UTC)"


def today() -> date:
    """Today's date in China."""
    return datetime.now(SHANGHAI).date()


# The same in SQL: current_date is the date in the database session's zone, a server's
# default (often UTC, which is a day behind China until 08:00 there).
TODAY_SQL = "(now() AT TIME ZONE 'Asia/Shanghai')::date"
# The instant China's next day begins, in Unix seconds: when what TODAY_SQL chose may change.
NEXT_DAY_SQL = f"extract(epoch FROM ({TODAY_SQL} + 1)::timestamp AT TIME ZONE 'Asia/Shanghai')"


def day_in_range(day: date) -> bool:
    return FIRST_DAY <= day <= LAST_DAY


def instant_in_range(moment: datetime) -> bool:
    """For an aware datetime; comparing offsets needs no conversion that could overflow."""
    return FIRST_INSTANT <= moment < END_INSTANT


def day_range_sql(column: str) -> str:
    return f"{column} BETWEEN DATE '{FIRST_DAY}' AND DATE '{LAST_DAY}'"


def instant_range_sql(column: str) -> str:
    # The bounds carry their zone: the condition must not depend on the session's.
    return (
        f"{column} >= TIMESTAMPTZ '{FIRST_INSTANT.isoformat()}' "
        f"AND {column} < TIMESTAMPTZ '{END_INSTANT.isoformat()}'"
    )


def check_observed_at(field: str, observed: datetime, *, now: datetime, clock_skew_s: int) -> None:
    """A pushed observation's time may run ahead of ours by the clocks' skew
    (RF_OCCUPANCY_CLOCK_SKEW_S), no more: a later one is refused."""
    if observed > now + timedelta(seconds=clock_skew_s):
        raise InvalidInput.on(field, f"{observed.isoformat()} lies in the future")
