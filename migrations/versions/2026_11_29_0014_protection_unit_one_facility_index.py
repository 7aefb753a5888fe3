"""protection_unit keeps one index on facility_id: the unique (facility_id, name) index.

It leads with facility_id, so it serves the lookups of a facility's units and the cascade
from facility as the plain facility_id index did, which every write of a unit also had to
update (a first import built it for 1.19 million units).

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-29 23:10:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_protection_unit_facility_id", table_name="protection_unit")


def downgrade() -> None:
    op.create_index("ix_protection_unit_facility_id", "protection_unit", ["facility_id"])
