"""Shelter status history partitioned by month, as occupancy history is (0019); and
use_search_refresh taking its facility ids as a set, in linear time (its file says why).

The reports written before this revision stay where they are, attached as one partition
(shelter_status_history, from MINVALUE to the start of next month): no copy, one
validating scan. Monthly partitions follow (shelter_status_yYYYYmMM, kept three months
ahead by the API, see app/db/partitions.py), and shelter_status_default takes any row no
partition covers. The partition functions are 0019's, unchanged.

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-06 19:30:00.000000
"""

from collections.abc import Sequence

from alembic import op

from app.db.sql import apply_frozen

revision: str = "0025"
down_revision: str | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NEXT_MONTH = "(date_trunc('month', now() AT TIME ZONE 'UTC') + interval '1 month')"
KEY = (
    "ALTER TABLE shelter_status ADD CONSTRAINT pk_shelter_status"
    " PRIMARY KEY (facility_id, observed_at)"
)
FACILITY = (
    "ALTER TABLE shelter_status ADD CONSTRAINT fk_shelter_status_facility_id_facility"
    " FOREIGN KEY (facility_id) REFERENCES facility (id) ON DELETE CASCADE"
)


def upgrade() -> None:
    apply_frozen("0025", "functions/use_search_refresh")
    op.execute("ALTER TABLE shelter_status RENAME TO shelter_status_history")
    op.execute("ALTER TABLE shelter_status_history"
               " RENAME CONSTRAINT pk_shelter_status TO pk_shelter_status_history")  # fmt: skip
    op.execute("ALTER TABLE shelter_status_history"
               " DROP CONSTRAINT fk_shelter_status_facility_id_facility")  # fmt: skip
    op.execute("CREATE TABLE shelter_status (LIKE shelter_status_history INCLUDING DEFAULTS"
               " INCLUDING CONSTRAINTS) PARTITION BY RANGE (observed_at)")  # fmt: skip
    op.execute(KEY)
    op.execute(FACILITY)
    bound = op.get_bind().exec_driver_sql(f"SELECT {NEXT_MONTH} AT TIME ZONE 'UTC'").scalar()
    op.execute("ALTER TABLE shelter_status ATTACH PARTITION shelter_status_history"
               f" FOR VALUES FROM (MINVALUE) TO ('{bound.isoformat()}')")  # fmt: skip
    op.execute("CREATE TABLE shelter_status_default PARTITION OF shelter_status DEFAULT")
    op.execute("SELECT month_partitions('shelter_status', 3)")


def downgrade() -> None:
    apply_frozen("0018", "functions/use_search_refresh")
    op.execute("CREATE TABLE shelter_status_flat"
               " (LIKE shelter_status INCLUDING DEFAULTS INCLUDING CONSTRAINTS)")  # fmt: skip
    op.execute("INSERT INTO shelter_status_flat SELECT * FROM shelter_status")
    op.execute("DROP TABLE shelter_status")
    op.execute("ALTER TABLE shelter_status_flat RENAME TO shelter_status")
    op.execute(KEY)
    op.execute(FACILITY)
