"""Tile change log: many new or deleted facilities and entrances are noted by their extent.

The statement triggers of migration 0007 collected every inserted or deleted position into
one geometry, which tile_change_note then reduced to its extent when it held more than
1,000 points. For a first import of a million facilities and 2.85 million entrances,
collecting and reading back those geometries took 12 s of the import. Now the INSERT and
DELETE triggers of facility and entrance count the rows first and collect the positions
only when there are at most 1,000 of them; otherwise they pass the extent, which
tile_change_note notes as it is. The notes are the same.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-29 15:30:00.000000
"""

from collections.abc import Sequence

from alembic import context, op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _positions(rows: str, where: str = "") -> str:
    """The positions of `rows` for tile_change_note: each point when there are at most
    1,000 of them, else their extent (the subquery runs only in the first case)."""
    return f"""(
            SELECT CASE WHEN count(*) <= 1000
                        THEN (SELECT ST_Collect(location) FROM {rows} {where})
                        ELSE CAST(ST_Extent(location) AS geometry) END
            FROM {rows} {where})"""


FUNCTIONS = f"""
CREATE OR REPLACE FUNCTION tile_change_note(collections text[], positions geometry)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF positions IS NULL THEN
        RETURN;
    END IF;
    IF ST_GeometryType(positions) IN ('ST_Point', 'ST_MultiPoint')
       AND ST_NumGeometries(positions) <= 1000 THEN
        INSERT INTO tile_change (collections, west, south, east, north)
        SELECT DISTINCT collections, ST_X(p.geom), ST_Y(p.geom), ST_X(p.geom), ST_Y(p.geom)
        FROM ST_DumpPoints(positions) p;
    ELSE
        INSERT INTO tile_change (collections, west, south, east, north)
        VALUES (collections, ST_XMin(positions), ST_YMin(positions),
                ST_XMax(positions), ST_YMax(positions));
    END IF;
    -- Keep a day of changes. Whoever prunes raises the horizon: a process that has not
    -- read the log since then may have missed changes and empties its cache. SKIP LOCKED,
    -- so that a long import that pruned holds up no other writer.
    IF EXISTS (SELECT FROM tile_change WHERE created_at < now() - interval '1 day') THEN
        PERFORM FROM tile_change_horizon FOR UPDATE SKIP LOCKED;
        IF FOUND THEN
            WITH pruned AS (
                DELETE FROM tile_change
                WHERE created_at < now() - interval '1 day'
                  AND xid < pg_snapshot_xmin(pg_current_snapshot())::text::bigint
                RETURNING xid
            )
            UPDATE tile_change_horizon
            SET pruned_xid = greatest(pruned_xid, (SELECT max(xid) FROM pruned))
            WHERE EXISTS (SELECT FROM pruned);
        END IF;
    END IF;
END $$;

CREATE OR REPLACE FUNCTION facility_tile_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    shown CONSTANT text[] := '{{facilities,shelters,parking,signage}}';
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM tile_change_note(shown, {_positions("new_rows", "WHERE deleted_at IS NULL")});
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM tile_change_note(shown, {_positions("old_rows", "WHERE deleted_at IS NULL")});
    ELSE
        -- the old and the new position: a move changes the tiles at both
        PERFORM tile_change_note(shown, (
            SELECT ST_Collect(position)
            FROM old_rows o JOIN new_rows n USING (id),
                LATERAL (VALUES (o.location), (n.location)) p(position)
            WHERE (o.location, o.code, o.name, o.status, o.construction_form,
                   o.wartime_function, o.wartime_subtype, o.capacity_persons, o.deleted_at)
                IS DISTINCT FROM
                  (n.location, n.code, n.name, n.status, n.construction_form,
                   n.wartime_function, n.wartime_subtype, n.capacity_persons, n.deleted_at)
              AND (o.deleted_at IS NULL OR n.deleted_at IS NULL)));
        -- deleting a facility takes its entrances off the map
        PERFORM tile_change_note('{{entrances}}', (
            SELECT ST_Collect(e.location)
            FROM old_rows o JOIN new_rows n USING (id) JOIN entrance e ON e.facility_id = n.id
            WHERE (o.deleted_at IS NULL) <> (n.deleted_at IS NULL)));
    END IF;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION entrance_tile_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM tile_change_note('{{entrances}}', {_positions("new_rows")});
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM tile_change_note('{{entrances}}', {_positions("old_rows")});
    ELSE
        PERFORM tile_change_note('{{entrances}}', (
            SELECT ST_Collect(position)
            FROM old_rows o JOIN new_rows n USING (id),
                LATERAL (VALUES (o.location), (n.location)) p(position)
            WHERE (o.location, o.facility_id, o.kind, o.accessible, o.name)
                IS DISTINCT FROM (n.location, n.facility_id, n.kind, n.accessible, n.name)));
    END IF;
    RETURN NULL;
END $$;
"""


def _vector_tiles_functions() -> str:
    """The functions as migration 0007 made them."""
    module = context.script.get_revision("0007").module
    return module.FUNCTIONS.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION")


def upgrade() -> None:
    op.execute(FUNCTIONS)


def downgrade() -> None:
    op.execute(_vector_tiles_functions())
