-- tile_cell_of: The cells of the stored levels of the cluster pyramid (tile_cell) that hold a WGS 84
-- position, in each coordinate system tiles are drawn in (wgs84, gcj02), with its
-- EPSG:3857 x and y. Level L has 2^L cells across the world: a tile at zoom z draws the
-- cells of level z + 6 (64 a side), and the stored levels are every other one from 6 to
-- 20 (zooms 0 to 14), so that a drawn cell is at most 2 x 2 stored ones. The formulas
-- are those of app.ogc.tiles.repository._clusters, in the same floating-point steps, so
-- that a position falls in the same cell as there; a coarser cell is a finer one's
-- number shifted right, as the cell sizes differ by powers of two.
-- Called by: tile_cell_apply; migration 0033's backfill.
-- Keeps true: tile_cell.
-- Migrations: 0033.
-- Current text in app/db/sql, frozen copies in migrations/sql/REVISION (docs/database.md).
CREATE OR REPLACE FUNCTION public.tile_cell_of(lon double precision, lat double precision)
 RETURNS TABLE(coordsys text, level integer, x integer, y integer, px double precision, py double precision)
 LANGUAGE sql
 IMMUTABLE PARALLEL SAFE
AS $function$
    SELECT p.coordsys, l.level,
           floor((m.px + 20037508.342789244::float8)
                 / (2 * 20037508.342789244::float8 / 2::float8 ^ l.level))::int,
           floor((20037508.342789244::float8 - m.py)
                 / (2 * 20037508.342789244::float8 / 2::float8 ^ l.level))::int,
           m.px, m.py
    FROM (SELECT 'wgs84' AS coordsys, lon AS lon, lat AS lat
          UNION ALL
          SELECT 'gcj02', g[1], g[2] FROM wgs84_to_gcj02(lon, lat) AS g) AS p
    CROSS JOIN LATERAL (
        SELECT p.lon * (20037508.342789244::float8 / 180::float8) AS px,
               ln(tan(radians(p.lat * 0.5::float8 + 45.0::float8)))
                   * (20037508.342789244::float8 / pi()) AS py) AS m
    CROSS JOIN generate_series(6, 20, 2) AS l(level)
$function$;
