"""Division boundaries cut into small pieces (division_part), kept by a trigger on
division, for every point-in-division test: placing one facility, an import's rows, the
demo data and population features.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29 04:10:00.000000
"""

from collections.abc import Sequence

import geoalchemy2
import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Pieces of at most this many vertices: placing an import's million points took 265 s
# against whole boundaries and 63 s against pieces; pieces of 32 vertices gained nothing
# more (the per-point cost of the index lookup then dominates).
MAX_VERTICES = 256


def upgrade() -> None:
    op.create_table(
        "division_part",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("code", sa.String(length=6), nullable=False),
        sa.Column(
            "part",
            geoalchemy2.types.Geometry(geometry_type="POLYGON", srid=4326, spatial_index=False),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["code"], ["division.code"], name="fk_division_part_code_division", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_division_part"),
    )
    op.create_index("ix_division_part_code", "division_part", ["code"])
    op.create_index("ix_division_part_part", "division_part", ["part"], postgresql_using="gist")
    op.execute(
        f"""
CREATE FUNCTION division_part_refresh() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM division_part WHERE code = NEW.code;
    INSERT INTO division_part (code, part)
    SELECT NEW.code, ST_Subdivide(NEW.boundary, {MAX_VERTICES})
    WHERE NEW.boundary IS NOT NULL;
    RETURN NULL;
END $$;

-- Deletes cascade through the foreign key.
CREATE TRIGGER division_part_refresh AFTER INSERT OR UPDATE OF boundary ON division
FOR EACH ROW EXECUTE FUNCTION division_part_refresh();

INSERT INTO division_part (code, part)
SELECT code, ST_Subdivide(boundary, {MAX_VERTICES}) FROM division WHERE boundary IS NOT NULL;
"""
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER division_part_refresh ON division")
    op.execute("DROP FUNCTION division_part_refresh()")
    op.drop_table("division_part")
