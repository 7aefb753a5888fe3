"""Two trigger functions read the rows of a statement more plainly; CREATE OR REPLACE of
functions and triggers only, no table is touched.

- population_reach_on_facility finds the shelters an update changed as the states found
  on one side only (one grouping of the rows before and after) instead of two
  differences written out twice.
- use_search_on_rows, one function for the inserted, deleted and updated rows of
  entrance and peacetime_use, replaces use_search_on_new_rows, _old_rows and
  _changed_rows.

Revision ID: 0034
Revises: 0033
Create Date: 2026-12-07 09:00:00.000000
"""

from collections.abc import Sequence

from alembic import op

from app.db.sql import apply_frozen

revision: str = "0034"
down_revision: str | None = "0033"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

USE_SEARCH_TRIGGERS = (
    *(
        f"triggers/entrance/use_search_on_entrance_{event}"
        for event in ("insert", "update", "delete")
    ),
    "triggers/peacetime_use/use_search_on_use_insert",
)
PER_TRANSITION_TABLE = ("new_rows", "old_rows", "changed_rows")


def upgrade() -> None:
    apply_frozen("0034", "functions/population_reach_on_facility")
    apply_frozen("0034", "functions/use_search_on_rows", *USE_SEARCH_TRIGGERS)
    for rows in PER_TRANSITION_TABLE:
        op.execute(f"DROP FUNCTION use_search_on_{rows}()")


def downgrade() -> None:
    apply_frozen("0018", *(f"functions/use_search_on_{rows}" for rows in PER_TRANSITION_TABLE))
    apply_frozen("0018", *USE_SEARCH_TRIGGERS)
    op.execute("DROP FUNCTION use_search_on_rows()")
    apply_frozen("0029", "functions/population_reach_on_facility")
