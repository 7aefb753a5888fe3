"""The cluster pyramid: vector tiles below zoom 15 of the facilities, shelters and parking
layers aggregate stored grid cells instead of every row near the tile
(docs/performance.md#vector-tiles).

- tile_cell: per layer, coordinate system (wgs84, gcj02) and stored level (6, 8, ... 20),
  each cell's count, sums and sums of EPSG:3857 x and y.
- tile_cell_of, tile_cell_apply, tile_cell_facility_layers: the cells of a position, the
  delta upsert, the layers a facility counts in.
- facility_tile_cell (insert, update, delete; statement-level), facility_tile_cell_cascade
  (before a hard delete, per row) and peacetime_use_tile_cell (insert, update, delete)
  keep it exact.
- Backfill: the finest level from the base rows, each coarser one from the level below.

Revision ID: 0033
Revises: 0032
Create Date: 2026-12-07 05:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from app.db.sql import apply_frozen

revision: str = "0033"
down_revision: str | None = "0032"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FUNCTIONS = (
    "functions/tile_cell_of",
    "functions/tile_cell_apply",
    "functions/tile_cell_facility_layers",
    "functions/facility_tile_cell",
    "functions/facility_tile_cell_cascade",
    "functions/peacetime_use_tile_cell",
)
TRIGGERS = (
    *(f"triggers/facility/facility_tile_cell_{event}" for event in ("insert", "update", "delete")),
    "triggers/facility/facility_tile_cell_cascade",
    *(
        f"triggers/peacetime_use/peacetime_use_tile_cell_{event}"
        for event in ("insert", "update", "delete")
    ),
)
FINEST = 20
# Every other level: a coarser cell is 2 x 2 cells of the level below.
COARSER = range(FINEST - 2, 5, -2)
SUMS = "count, sum_1, known_1, sum_2, known_2, sum_px, sum_py"

BACKFILL_FINEST = f"""
INSERT INTO tile_cell (layer, coordsys, level, x, y, {SUMS})
SELECT l.layer, c.coordsys, c.level, c.x, c.y, count(*),
       coalesce(sum(l.sum_1), 0), count(l.sum_1), coalesce(sum(l.sum_2), 0), count(l.sum_2),
       sum(c.px), sum(c.py)
FROM facility f, tile_cell_facility_layers(f.id, f.status, f.capacity_persons) l,
     tile_cell_of(ST_X(f.location), ST_Y(f.location)) c
WHERE f.deleted_at IS NULL AND f.visibility = 'public' AND c.level = {FINEST}
GROUP BY 1, 2, 3, 4, 5
"""


def _backfill_coarser(level: int) -> str:
    return f"""
INSERT INTO tile_cell (layer, coordsys, level, x, y, {SUMS})
SELECT layer, coordsys, {level}, x >> 2, y >> 2, sum(count), sum(sum_1), sum(known_1),
       sum(sum_2), sum(known_2), sum(sum_px), sum(sum_py)
FROM tile_cell WHERE level = {level + 2}
GROUP BY 1, 2, 3, 4, 5
"""


def upgrade() -> None:
    op.create_table(
        "tile_cell",
        sa.Column("layer", sa.Text(), nullable=False),
        sa.Column("coordsys", sa.Text(), nullable=False),
        sa.Column("level", sa.SmallInteger(), nullable=False),
        sa.Column("x", sa.Integer(), nullable=False),
        sa.Column("y", sa.Integer(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("sum_1", sa.BigInteger(), nullable=False),
        sa.Column("known_1", sa.Integer(), nullable=False),
        sa.Column("sum_2", sa.BigInteger(), nullable=False),
        sa.Column("known_2", sa.Integer(), nullable=False),
        sa.Column("sum_px", sa.Double(), nullable=False),
        sa.Column("sum_py", sa.Double(), nullable=False),
    )
    apply_frozen("0033", *FUNCTIONS)
    op.execute(BACKFILL_FINEST)
    for level in COARSER:
        op.execute(_backfill_coarser(level))
    # After the backfill: one sorted build, smaller than an index grown by the inserts.
    # Covering: a tile reads its cells from the index alone.
    op.execute(
        "ALTER TABLE tile_cell ADD CONSTRAINT pk_tile_cell "
        f"PRIMARY KEY (layer, coordsys, level, x, y) INCLUDE ({SUMS})"
    )
    apply_frozen("0033", *TRIGGERS)


def downgrade() -> None:
    for name in TRIGGERS:
        table, trigger = name.split("/")[1:]
        op.execute(f"DROP TRIGGER {trigger} ON {table}")
    for name in reversed(FUNCTIONS):
        op.execute(f"DROP FUNCTION {name.split('/')[1]}")
    op.drop_table("tile_cell")
