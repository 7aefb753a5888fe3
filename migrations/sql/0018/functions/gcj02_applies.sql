-- gcj02_applies: Whether GCJ-02 (and so BD-09) applies at a WGS 84 position: the ChinaMapShift
-- rectangles. The same rule as app.core.geo.gcj02_applies, which the Python inverse
-- (callers' positions, imports, boundaries) uses; tests/nearby/test_sql_coordsys.py
-- holds the two to agreement.
-- Called by: wgs84_to_gcj02, coordsys_positions.
-- Keeps true: nothing stored; use_search.at and entrance_at are written with it.
-- Migrations: 0002.
-- Current text in app/db/sql, frozen copies in migrations/sql/REVISION (docs/database.md).
CREATE OR REPLACE FUNCTION public.gcj02_applies(lon double precision, lat double precision)
 RETURNS boolean
 LANGUAGE sql
 IMMUTABLE PARALLEL SAFE
AS $function$
    SELECT ((lon BETWEEN 79.4462 AND 96.33 AND lat BETWEEN 42.8899 AND 49.2204)
         OR (lon BETWEEN 109.6872 AND 135.0002 AND lat BETWEEN 39.3742 AND 54.1415)
         OR (lon BETWEEN 73.1246 AND 124.143255 AND lat BETWEEN 29.5297 AND 42.8899)
         OR (lon BETWEEN 82.9684 AND 97.0352 AND lat BETWEEN 26.7186 AND 29.5297)
         OR (lon BETWEEN 97.0253 AND 124.367395 AND lat BETWEEN 20.414096 AND 29.5297)
         OR (lon BETWEEN 107.975793 AND 111.744104 AND lat BETWEEN 17.871542 AND 20.414096))
    AND NOT ((lon BETWEEN 119.921265 AND 122.497559 AND lat BETWEEN 21.785006 AND 25.398623)
         OR (lon BETWEEN 101.8652 AND 106.665 AND lat BETWEEN 20.0988 AND 22.284)
         OR (lon BETWEEN 106.4525 AND 108.051 AND lat BETWEEN 20.4878 AND 21.5422)
         OR (lon BETWEEN 109.0323 AND 119.127 AND lat BETWEEN 50.3257 AND 55.8175)
         OR (lon BETWEEN 127.4568 AND 137.0227 AND lat BETWEEN 49.5574 AND 55.8175)
         OR (lon BETWEEN 131.2662 AND 137.0227 AND lat BETWEEN 42.5692 AND 44.8922))
$function$;
