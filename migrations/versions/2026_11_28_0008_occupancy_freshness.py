"""The staleness rule of live parking figures as one SQL function, for every query that
shows them (nearby search, the OGC parking collection); uses.service.availability is its
Python twin for single uses.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-28 22:25:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A single expression, so that the planner inlines it.
    op.execute(
        """
CREATE FUNCTION occupancy_fresh(observed_at timestamptz, stale_after_s int) RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT observed_at > now() - make_interval(secs => stale_after_s)
$$;
"""
    )


def downgrade() -> None:
    op.execute("DROP FUNCTION occupancy_fresh(timestamptz, int)")
