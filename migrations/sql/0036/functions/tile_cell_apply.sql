-- tile_cell_apply: Adds rows to the cluster pyramid (sign 1) or takes them out (sign -1), set-wise: each
-- row's count, sums (with how many rows have a value: a cluster's sum is null when none
-- has) and EPSG:3857 x and y are added to its cell at every stored level and coordinate
-- system (tile_cell_of), one upsert per cell, in key order so that two writers lock
-- shared cells in the same order. Rows are first netted per layer and position, so that
-- a row taken out and put back at the same place (a sign's status, a work's capacity)
-- leaves its cell's count and x, y sums exactly as they were, and what nets to nothing
-- is neither placed nor written (sums as bigint: an import's works at one position may
-- pass an integer's range). ON CONFLICT adds to the row a concurrent writer
-- committed; a cell whose count falls to 0 is deleted, through the ctid of the version
-- this statement wrote and still locks.
-- Called by: facility_tile_cell, facility_tile_cell_cascade, peacetime_use_tile_cell,
-- entrance_tile_cell, sign_tile_cell.
-- Keeps true: tile_cell.
-- Migrations: 0033, 0035, 0036.
-- Current text in app/db/sql, frozen copies in migrations/sql/REVISION (docs/database.md).
CREATE OR REPLACE FUNCTION public.tile_cell_apply(layers text[], signs integer[], lons double precision[], lats double precision[], sums_1 integer[], sums_2 integer[], sums_3 integer[])
 RETURNS void
 LANGUAGE plpgsql
AS $function$
DECLARE
    emptied tid[];
BEGIN
    IF layers IS NULL THEN
        RETURN;
    END IF;
    WITH netted AS (
        SELECT d.layer, d.lon, d.lat,
               sum(d.sign)::int AS count,
               coalesce(sum(d.sign * d.sum_1), 0)::bigint AS sum_1,
               coalesce(sum(d.sign) FILTER (WHERE d.sum_1 IS NOT NULL), 0)::int AS known_1,
               coalesce(sum(d.sign * d.sum_2), 0)::bigint AS sum_2,
               coalesce(sum(d.sign) FILTER (WHERE d.sum_2 IS NOT NULL), 0)::int AS known_2,
               coalesce(sum(d.sign * d.sum_3), 0)::bigint AS sum_3,
               coalesce(sum(d.sign) FILTER (WHERE d.sum_3 IS NOT NULL), 0)::int AS known_3
        FROM unnest(layers, signs, lons, lats, sums_1, sums_2, sums_3)
                 AS d(layer, sign, lon, lat, sum_1, sum_2, sum_3)
        GROUP BY 1, 2, 3
    ), changed AS (
        SELECT * FROM netted
        WHERE (count, sum_1, known_1, sum_2, known_2, sum_3, known_3) <> (0, 0, 0, 0, 0, 0, 0)
    ), delta AS (
        SELECT d.layer, c.coordsys, c.level, c.x, c.y,
               sum(d.count) AS count,
               sum(d.sum_1) AS sum_1, sum(d.known_1) AS known_1,
               sum(d.sum_2) AS sum_2, sum(d.known_2) AS known_2,
               sum(d.sum_3) AS sum_3, sum(d.known_3) AS known_3,
               sum(d.count * c.px) AS sum_px,
               sum(d.count * c.py) AS sum_py
        FROM changed AS d, tile_cell_of(d.lon, d.lat) AS c
        GROUP BY 1, 2, 3, 4, 5
        ORDER BY 1, 2, 3, 4, 5
    ), written AS (
        INSERT INTO tile_cell AS t (layer, coordsys, level, x, y, count, sum_1, known_1,
                                    sum_2, known_2, sum_3, known_3, sum_px, sum_py)
        SELECT * FROM delta
        ON CONFLICT (layer, coordsys, level, x, y) DO UPDATE SET
            count = t.count + EXCLUDED.count,
            sum_1 = t.sum_1 + EXCLUDED.sum_1,
            known_1 = t.known_1 + EXCLUDED.known_1,
            sum_2 = t.sum_2 + EXCLUDED.sum_2,
            known_2 = t.known_2 + EXCLUDED.known_2,
            sum_3 = t.sum_3 + EXCLUDED.sum_3,
            known_3 = t.known_3 + EXCLUDED.known_3,
            sum_px = t.sum_px + EXCLUDED.sum_px,
            sum_py = t.sum_py + EXCLUDED.sum_py
        RETURNING t.ctid, t.count
    )
    SELECT array_agg(ctid) INTO emptied FROM written WHERE count = 0;
    IF emptied IS NOT NULL THEN
        DELETE FROM tile_cell WHERE ctid = ANY(emptied) AND count = 0;
    END IF;
END $function$;
