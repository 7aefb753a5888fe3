"""tile_cell_apply nets its rows' sums per position as bigint: as integers, the
capacities of an import's works at one point (each within the API's bound) could pass
an integer's range and fail the statement. CREATE OR REPLACE of the function only.

Revision ID: 0036
Revises: 0035
Create Date: 2026-12-07 11:00:00.000000
"""

from collections.abc import Sequence

from app.db.sql import apply_frozen

revision: str = "0036"
down_revision: str | None = "0035"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    apply_frozen("0036", "functions/tile_cell_apply")


def downgrade() -> None:
    apply_frozen("0035", "functions/tile_cell_apply")
