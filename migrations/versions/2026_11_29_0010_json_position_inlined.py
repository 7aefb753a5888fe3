"""json_position (migration 0005) declared STABLE, so that the planner inlines it.

Its body turns float8 into text with `||`, which is STABLE (it calls the type's output
function). PostgreSQL does not inline an IMMUTABLE function whose body is less strict
than that, so each of the 100 positions of a nearby answer paid a SQL function call:
6 µs, against 1 µs inlined.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-29 07:20:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("ALTER FUNCTION json_position(float8[], int) STABLE")


def downgrade() -> None:
    op.execute("ALTER FUNCTION json_position(float8[], int) IMMUTABLE")
