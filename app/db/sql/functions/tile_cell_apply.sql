-- tile_cell_apply: Adds rows to the cluster pyramid (sign 1) or takes them out (sign -1), set-wise: each
-- row's count, sums (with how many rows have a value: a cluster's sum is null when none
-- has) and EPSG:3857 x and y are added to its cell at every stored level and coordinate
-- system (tile_cell_of), one upsert per cell, in key order so that two writers lock
-- shared cells in the same order. ON CONFLICT adds to the row a concurrent writer
-- committed; a cell whose count falls to 0 is deleted, through the ctid of the version
-- this statement wrote and still locks.
-- Called by: facility_tile_cell, facility_tile_cell_cascade, peacetime_use_tile_cell.
-- Keeps true: tile_cell.
-- Migrations: 0033.
-- Current text in app/db/sql, frozen copies in migrations/sql/REVISION (docs/database.md).
CREATE OR REPLACE FUNCTION public.tile_cell_apply(layers text[], signs integer[], lons double precision[], lats double precision[], sums_1 integer[], sums_2 integer[])
 RETURNS void
 LANGUAGE plpgsql
AS $function$
DECLARE
    emptied tid[];
BEGIN
    IF layers IS NULL THEN
        RETURN;
    END IF;
    WITH delta AS (
        SELECT d.layer, c.coordsys, c.level, c.x, c.y,
               sum(d.sign) AS count,
               coalesce(sum(d.sign * d.sum_1), 0) AS sum_1,
               coalesce(sum(d.sign) FILTER (WHERE d.sum_1 IS NOT NULL), 0) AS known_1,
               coalesce(sum(d.sign * d.sum_2), 0) AS sum_2,
               coalesce(sum(d.sign) FILTER (WHERE d.sum_2 IS NOT NULL), 0) AS known_2,
               sum(d.sign * c.px) AS sum_px,
               sum(d.sign * c.py) AS sum_py
        FROM unnest(layers, signs, lons, lats, sums_1, sums_2)
                 AS d(layer, sign, lon, lat, sum_1, sum_2),
             tile_cell_of(d.lon, d.lat) AS c
        GROUP BY 1, 2, 3, 4, 5
        ORDER BY 1, 2, 3, 4, 5
    ), written AS (
        INSERT INTO tile_cell AS t (layer, coordsys, level, x, y, count, sum_1, known_1,
                                    sum_2, known_2, sum_px, sum_py)
        SELECT * FROM delta
        ON CONFLICT (layer, coordsys, level, x, y) DO UPDATE SET
            count = t.count + EXCLUDED.count,
            sum_1 = t.sum_1 + EXCLUDED.sum_1,
            known_1 = t.known_1 + EXCLUDED.known_1,
            sum_2 = t.sum_2 + EXCLUDED.sum_2,
            known_2 = t.known_2 + EXCLUDED.known_2,
            sum_px = t.sum_px + EXCLUDED.sum_px,
            sum_py = t.sum_py + EXCLUDED.sum_py
        RETURNING t.ctid, t.count
    )
    SELECT array_agg(ctid) INTO emptied FROM written WHERE count = 0;
    IF emptied IS NOT NULL THEN
        DELETE FROM tile_cell WHERE ctid = ANY(emptied) AND count = 0;
    END IF;
END $function$;
