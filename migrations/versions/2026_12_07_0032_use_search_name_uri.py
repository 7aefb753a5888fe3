"""use_search keeps each place's name percent-encoded for the navigation links
(name_uri, a stored generated column of uri_component(name)): the nearby search encoded
it for every place of every answer. use_search_refresh names the columns it writes.

Revision ID: 0032
Revises: 0030
Create Date: 2026-12-07 06:10:00.000000
"""

from collections.abc import Sequence

from alembic import op

from app.db.sql import apply_frozen

revision: str = "0032"
down_revision: str | None = "0030"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    apply_frozen("0032", "functions/uri_component")
    op.execute(
        "ALTER TABLE use_search"
        " ADD COLUMN name_uri text GENERATED ALWAYS AS (uri_component(name)) STORED"
    )
    apply_frozen("0032", "functions/use_search_refresh")


def downgrade() -> None:
    apply_frozen("0025", "functions/use_search_refresh")
    op.execute("ALTER TABLE use_search DROP COLUMN name_uri")
    op.execute("DROP FUNCTION uri_component(text)")
