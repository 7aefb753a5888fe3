"""population_reach_on_facility finds the shelters an update changed as the states found
on one side of it only (one grouping of the rows before and after) instead of two
differences written out twice. CREATE OR REPLACE FUNCTION only: no table is touched.

Revision ID: 0034
Revises: 0033
Create Date: 2026-12-07 09:00:00.000000
"""

from collections.abc import Sequence

from app.db.sql import apply_frozen

revision: str = "0034"
down_revision: str | None = "0033"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    apply_frozen("0034", "functions/population_reach_on_facility")


def downgrade() -> None:
    apply_frozen("0029", "functions/population_reach_on_facility")
