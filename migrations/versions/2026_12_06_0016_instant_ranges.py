"""Dates and instants that callers give lie between 1900-01-01 and 2100-12-31 (instants
in UTC), checked by the database too.

`verified_at: "0001-01-01T00:00:00+14:00"` was stored as a day of 1 BC, which Python
cannot read back: every later write of that facility, and its GeoPackage export, failed.
The API and the importer now refuse such values (core.dates); these CHECK constraints
refuse them from any other path as well.

Rows that already hold such a value are reported first, per table and column: how many,
and the first ids. Their column's constraint is then added NOT VALID, so that every new
write is checked while those rows stay for an admin to correct; after that,
`ALTER TABLE <table> VALIDATE CONSTRAINT <name>` checks the old rows too.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06 10:00:00.000000
"""

import logging
from collections.abc import Callable, Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

log = logging.getLogger("alembic.runtime.migration")


def _day(column: str) -> str:
    return f"{column} BETWEEN DATE '1900-01-01' AND DATE '2100-12-31'"


def _instant(column: str) -> str:
    return (
        f"{column} >= TIMESTAMPTZ '1900-01-01T00:00:00+00:00' "
        f"AND {column} < TIMESTAMPTZ '2101-01-01T00:00:00+00:00'"
    )


# (table, column, the column whose values name a row in the report, the condition)
RANGES: tuple[tuple[str, str, str, Callable[[str], str]], ...] = (
    ("facility", "verified_at", "id", _instant),
    ("peacetime_use", "realtime_observed_at", "id", _instant),
    ("parking_occupancy", "observed_at", "facility_id", _instant),
    ("sign", "installed_on", "id", _day),
    ("sign", "inspected_on", "id", _day),
    ("maintenance_record", "performed_on", "id", _day),
)
SHOWN = 10


def _name(table: str, column: str) -> str:
    return f"ck_{table}_{column}_range"


def upgrade() -> None:
    connection = op.get_bind()
    for table, column, key, condition in RANGES:
        count, named, keys = connection.execute(
            sa.text(
                f"SELECT count(*), count(DISTINCT {key}), "
                f"(array_agg(DISTINCT {key} ORDER BY {key}))[1:{SHOWN}] "
                f"FROM {table} WHERE NOT ({condition(column)})"
            )
        ).one()
        name = _name(table, column)
        if count:
            log.warning(
                "%s.%s: %d row(s) outside 1900-01-01 to 2100-12-31 (%s %s%s); %s is added "
                "NOT VALID: new writes are checked, these rows stay for an admin to correct, "
                "then ALTER TABLE %s VALIDATE CONSTRAINT %s",
                table,
                column,
                count,
                key,
                ", ".join(map(str, keys)),
                " ..." if named > len(keys) else "",
                name,
                table,
                name,
            )
        op.create_check_constraint(
            op.f(name), table, condition(column), postgresql_not_valid=bool(count)
        )


def downgrade() -> None:
    for table, column, _, _ in RANGES:
        op.drop_constraint(op.f(_name(table, column)), table, type_="check")
