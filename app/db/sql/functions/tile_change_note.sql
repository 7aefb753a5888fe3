-- tile_change_note: Notes where tiles changed: each position when there are at most 1,000, else their
-- extent; prunes the log to a day and raises tile_change_horizon when it does.
-- Called by: facility_tile_change, entrance_tile_change, peacetime_use_tile_change, sign_tile_change,
-- division_tile_change, shelter_status_tile_change.
-- Keeps true: tile_change and tile_change_horizon (read by app/ogc/tiles/cache.py).
-- Migrations: 0007, 0013 (extent of many).
-- Current text in app/db/sql, frozen copies in migrations/sql/REVISION (docs/database.md).
CREATE OR REPLACE FUNCTION public.tile_change_note(collections text[], positions geometry)
 RETURNS void
 LANGUAGE plpgsql
AS $function$
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
END $function$;
