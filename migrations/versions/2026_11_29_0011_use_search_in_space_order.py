"""use_search rewritten in the order of its spatial index, and that index recorded as the
table's clustering index.

A nearby search reads about 65 rows, each from wherever the refresh once appended it: 65
heap pages at a million facilities, where rows stored in space order share a few. One
search's execution went from 2.3 to 1.6 ms. Rows written later are appended again; a
plain `CLUSTER use_search` (an exclusive lock for about a minute per million uses)
restores the order, and the demo loader runs it.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-29 08:05:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("CLUSTER use_search USING ix_use_search_location")


def downgrade() -> None:
    op.execute("ALTER TABLE use_search SET WITHOUT CLUSTER")
