"""Calendar days admins declare (local holidays, next year's days) over the State
Council's calendar that opening hours follow.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-06 16:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "calendar_day",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("updated_by", sa.Text(), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.CheckConstraint("kind IN ('holiday', 'workday')", name=op.f("ck_calendar_day_override")),
        sa.CheckConstraint(
            "length(name) BETWEEN 1 AND 100", name=op.f("ck_calendar_day_name_length")
        ),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_calendar_day")),
    )


def downgrade() -> None:
    op.drop_table("calendar_day")
