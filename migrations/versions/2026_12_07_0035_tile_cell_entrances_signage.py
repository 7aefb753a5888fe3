"""The entrances and signage layers on the cluster pyramid (docs/performance.md#vector-tiles):
their cluster tiles below zoom 15 sum stored cells too.

- tile_cell: a third sum (sum_3, known_3), added without rewriting the table; the
  covering primary key is built again to include it.
- tile_cell_apply takes the third sum and nets rows per layer and position first;
  tile_cell_facility_layers adds a facility's signage (its signs installed, damaged,
  missing); facility_tile_cell adds or takes out the entrances of works shown or hidden,
  facility_tile_cell_cascade a hard-deleted work's signage and entrances.
- entrance_tile_cell and sign_tile_cell (insert, update, delete; statement-level) keep
  the two layers exact.
- Backfill of the two layers: the finest level from the rows, each coarser one from the
  level below.

Revision ID: 0035
Revises: 0034
Create Date: 2026-12-07 09:00:00.000000
"""

from collections.abc import Sequence

from alembic import op

from app.db.sql import apply_frozen

revision: str = "0035"
down_revision: str | None = "0034"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Their signatures change: CREATE OR REPLACE would add an overload.
REPLACED = (
    "tile_cell_apply(text[], integer[], double precision[], double precision[], integer[], "
    "integer[])",
    "tile_cell_facility_layers(bigint, text, integer)",
)
CHANGED = (
    "functions/tile_cell_apply",
    "functions/tile_cell_facility_layers",
    "functions/facility_tile_cell",
    "functions/facility_tile_cell_cascade",
    "functions/peacetime_use_tile_cell",
)
FUNCTIONS = (*CHANGED, "functions/entrance_tile_cell", "functions/sign_tile_cell")
TRIGGERS = tuple(
    f"triggers/{table}/{table}_tile_cell_{event}"
    for table in ("entrance", "sign")
    for event in ("insert", "update", "delete")
)
NEW_LAYERS = "('entrances', 'signage')"
FINEST = 20
COARSER = range(FINEST - 2, 5, -2)
SUMS = "count, sum_1, known_1, sum_2, known_2, sum_3, known_3, sum_px, sum_py"
SUMS_0033 = "count, sum_1, known_1, sum_2, known_2, sum_px, sum_py"
SHOWN = "f.deleted_at IS NULL AND f.visibility = 'public'"

# The same membership as entrance_tile_cell and tile_cell_facility_layers (signage), by
# joins and one grouping of the sign table rather than a lookup per work.
BACKFILL_FINEST = f"""
INSERT INTO tile_cell (layer, coordsys, level, x, y, {SUMS})
SELECT 'entrances', c.coordsys, c.level, c.x, c.y, count(*), 0, 0, 0, 0, 0, 0,
       sum(c.px), sum(c.py)
FROM entrance e JOIN facility f ON f.id = e.facility_id,
     tile_cell_of(ST_X(e.location), ST_Y(e.location)) c
WHERE e.kind <> 'wartime' AND {SHOWN} AND c.level = {FINEST}
GROUP BY 2, 3, 4, 5
UNION ALL
SELECT 'signage', c.coordsys, c.level, c.x, c.y, count(*),
       coalesce(sum(s.installed), 0), count(*), coalesce(sum(s.damaged), 0), count(*),
       coalesce(sum(s.missing), 0), count(*), sum(c.px), sum(c.py)
FROM facility f
     LEFT JOIN (SELECT facility_id,
                       count(*) FILTER (WHERE status = 'installed') AS installed,
                       count(*) FILTER (WHERE status = 'damaged') AS damaged,
                       count(*) FILTER (WHERE status = 'missing') AS missing
                FROM sign GROUP BY facility_id) s ON s.facility_id = f.id,
     tile_cell_of(ST_X(f.location), ST_Y(f.location)) c
WHERE {SHOWN} AND c.level = {FINEST}
GROUP BY 2, 3, 4, 5
"""


def _backfill_coarser(level: int) -> str:
    return f"""
INSERT INTO tile_cell (layer, coordsys, level, x, y, {SUMS})
SELECT layer, coordsys, {level}, x >> 2, y >> 2, sum(count), sum(sum_1), sum(known_1),
       sum(sum_2), sum(known_2), sum(sum_3), sum(known_3), sum(sum_px), sum(sum_py)
FROM tile_cell WHERE layer IN {NEW_LAYERS} AND level = {level + 2}
GROUP BY 1, 2, 3, 4, 5
"""


def _primary_key(values: str) -> str:
    # Covering: a tile reads its cells from the index alone.
    return (
        "ALTER TABLE tile_cell ADD CONSTRAINT pk_tile_cell "
        f"PRIMARY KEY (layer, coordsys, level, x, y) INCLUDE ({values})"
    )


def upgrade() -> None:
    for signature in REPLACED:
        op.execute(f"DROP FUNCTION {signature}")
    # A constant default is kept in the catalogue, not written to each row; dropped
    # after, as the other values have none (tile_cell_apply writes them all).
    op.execute(
        "ALTER TABLE tile_cell DROP CONSTRAINT pk_tile_cell,"
        " ADD COLUMN sum_3 bigint NOT NULL DEFAULT 0,"
        " ADD COLUMN known_3 integer NOT NULL DEFAULT 0"
    )
    op.execute(
        "ALTER TABLE tile_cell ALTER COLUMN sum_3 DROP DEFAULT, ALTER COLUMN known_3 DROP DEFAULT"
    )
    apply_frozen("0035", *FUNCTIONS)
    op.execute(BACKFILL_FINEST)
    for level in COARSER:
        op.execute(_backfill_coarser(level))
    # After the backfill: one sorted build, smaller than an index grown by the inserts.
    op.execute(_primary_key(SUMS))
    apply_frozen("0035", *TRIGGERS)


def downgrade() -> None:
    for name in TRIGGERS:
        table, trigger = name.split("/")[1:]
        op.execute(f"DROP TRIGGER {trigger} ON {table}")
    op.execute("DROP FUNCTION sign_tile_cell()")
    op.execute("DROP FUNCTION entrance_tile_cell()")
    op.execute(
        "DROP FUNCTION tile_cell_apply(text[], integer[], double precision[], "
        "double precision[], integer[], integer[], integer[])"
    )
    op.execute("DROP FUNCTION tile_cell_facility_layers(bigint, text, integer)")
    op.execute(f"DELETE FROM tile_cell WHERE layer IN {NEW_LAYERS}")
    op.execute(
        "ALTER TABLE tile_cell DROP CONSTRAINT pk_tile_cell, DROP COLUMN sum_3, DROP COLUMN known_3"
    )
    op.execute(_primary_key(SUMS_0033))
    apply_frozen("0033", *CHANGED)
