"""geometry_in_coordsys: stored geometries in GCJ-02 or BD-09, for every read that answers
in a caller's coordinate system.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-06 16:30:00.000000
"""

from collections.abc import Sequence

from alembic import op

from app.db.sql import apply_frozen

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    apply_frozen("0021", "functions/geometry_in_coordsys")


def downgrade() -> None:
    op.execute("DROP FUNCTION geometry_in_coordsys(geometry, text)")
