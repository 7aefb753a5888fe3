"""Division outlines as a vector tileset: writes to `division` evict its tiles.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-06 16:40:00.000000
"""

from collections.abc import Sequence

from alembic import op

from app.db.sql import apply_frozen

revision: str = "0024"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TRIGGERS = ("insert", "update", "delete")


def upgrade() -> None:
    apply_frozen(
        "0024",
        "functions/division_tile_change",
        *(f"triggers/division/division_tile_change_{name}" for name in _TRIGGERS),
    )


def downgrade() -> None:
    for name in _TRIGGERS:
        op.execute(f"DROP TRIGGER division_tile_change_{name} ON division")
    op.execute("DROP FUNCTION division_tile_change()")
