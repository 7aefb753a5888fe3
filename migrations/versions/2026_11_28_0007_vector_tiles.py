"""Vector tiles: cache invalidation.

Statement triggers on the tables that vector tiles show record where tiles changed in
tile_change; every API process reads that log to evict exactly the tiles a write touched
(see app/ogc/tiles/cache.py).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-28 20:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("facility", "entrance", "peacetime_use", "sign")

# Each function compares only the columns the tile layers show (app/ogc/tiles/layers.py),
# so that a keyholder's new phone number or a parking occupancy report evicts nothing.
FUNCTIONS = """
CREATE FUNCTION tile_change_note(collections text[], positions geometry) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF positions IS NULL THEN
        RETURN;
    END IF;
    IF ST_NumGeometries(positions) <= 1000 THEN
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

CREATE FUNCTION facility_tile_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    shown CONSTANT text[] := '{facilities,shelters,parking,signage}';
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM tile_change_note(shown,
            (SELECT ST_Collect(location) FROM new_rows WHERE deleted_at IS NULL));
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM tile_change_note(shown,
            (SELECT ST_Collect(location) FROM old_rows WHERE deleted_at IS NULL));
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
        PERFORM tile_change_note('{entrances}', (
            SELECT ST_Collect(e.location)
            FROM old_rows o JOIN new_rows n USING (id) JOIN entrance e ON e.facility_id = n.id
            WHERE (o.deleted_at IS NULL) <> (n.deleted_at IS NULL)));
    END IF;
    RETURN NULL;
END $$;

CREATE FUNCTION entrance_tile_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM tile_change_note('{entrances}', (SELECT ST_Collect(location) FROM new_rows));
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM tile_change_note('{entrances}', (SELECT ST_Collect(location) FROM old_rows));
    ELSE
        PERFORM tile_change_note('{entrances}', (
            SELECT ST_Collect(position)
            FROM old_rows o JOIN new_rows n USING (id),
                LATERAL (VALUES (o.location), (n.location)) p(position)
            WHERE (o.location, o.facility_id, o.kind, o.accessible, o.name)
                IS DISTINCT FROM (n.location, n.facility_id, n.kind, n.accessible, n.name)));
    END IF;
    RETURN NULL;
END $$;

CREATE FUNCTION peacetime_use_tile_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM tile_change_note('{parking}', (
            SELECT ST_Collect(location::geometry) FROM new_rows WHERE type = 'parking'));
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM tile_change_note('{parking}', (
            SELECT ST_Collect(location::geometry) FROM old_rows WHERE type = 'parking'));
    ELSE
        PERFORM tile_change_note('{parking}', (
            SELECT ST_Collect(position::geometry)
            FROM old_rows o JOIN new_rows n USING (id),
                LATERAL (VALUES (o.location), (n.location)) p(position)
            WHERE 'parking' IN (o.type, n.type)
              AND (o.location, o.facility_id, o.type, o.name, o.total_spaces,
                   o.accessible_spaces, o.charging_piles, o.height_limit_m)
                IS DISTINCT FROM
                  (n.location, n.facility_id, n.type, n.name, n.total_spaces,
                   n.accessible_spaces, n.charging_piles, n.height_limit_m)));
    END IF;
    RETURN NULL;
END $$;

-- Signage is drawn per facility, at the facility's position.
CREATE FUNCTION sign_tile_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM tile_change_note('{signage}', (
            SELECT ST_Collect(location) FROM facility
            WHERE id IN (SELECT facility_id FROM new_rows)));
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM tile_change_note('{signage}', (
            SELECT ST_Collect(location) FROM facility
            WHERE id IN (SELECT facility_id FROM old_rows)));
    ELSE
        PERFORM tile_change_note('{signage}', (
            SELECT ST_Collect(location) FROM facility
            WHERE id IN (
                SELECT unnest(ARRAY[o.facility_id, n.facility_id])
                FROM old_rows o JOIN new_rows n USING (id)
                WHERE (o.facility_id, o.status) IS DISTINCT FROM (n.facility_id, n.status))));
    END IF;
    RETURN NULL;
END $$;
"""


def upgrade() -> None:
    op.create_table(
        "tile_change",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column(
            "xid",
            sa.BigInteger(),
            server_default=sa.text("(pg_current_xact_id())::text::bigint"),
            nullable=False,
        ),
        sa.Column("collections", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("west", sa.Double(), nullable=False),
        sa.Column("south", sa.Double(), nullable=False),
        sa.Column("east", sa.Double(), nullable=False),
        sa.Column("north", sa.Double(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("clock_timestamp()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tile_change")),
    )
    op.create_index(op.f("ix_tile_change_xid"), "tile_change", ["xid"])
    op.create_index(op.f("ix_tile_change_created_at"), "tile_change", ["created_at"])
    op.create_table(
        "tile_change_horizon",
        sa.Column("id", sa.SmallInteger(), nullable=False),
        sa.Column("pruned_xid", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_tile_change_horizon_single_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tile_change_horizon")),
    )
    op.execute("INSERT INTO tile_change_horizon (id) VALUES (1)")
    op.execute(FUNCTIONS)
    # Statement triggers with transition tables: an import of a million rows costs one
    # extent, not a million log rows.
    for table in TABLES:
        for event, transition in (
            ("INSERT", "NEW TABLE AS new_rows"),
            ("UPDATE", "OLD TABLE AS old_rows NEW TABLE AS new_rows"),
            ("DELETE", "OLD TABLE AS old_rows"),
        ):
            op.execute(
                f"CREATE TRIGGER {table}_tile_change_{event.lower()} AFTER {event} ON {table}"
                f" REFERENCING {transition} FOR EACH STATEMENT"
                f" EXECUTE FUNCTION {table}_tile_change()"
            )


def downgrade() -> None:
    for table in TABLES:
        for event in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER {table}_tile_change_{event} ON {table}")
        op.execute(f"DROP FUNCTION {table}_tile_change()")
    op.execute("DROP FUNCTION tile_change_note(text[], geometry)")
    op.drop_table("tile_change_horizon")
    op.drop_index(op.f("ix_tile_change_created_at"), table_name="tile_change")
    op.drop_index(op.f("ix_tile_change_xid"), table_name="tile_change")
    op.drop_table("tile_change")
