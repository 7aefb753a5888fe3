-- wgs84_to_gcj02: WGS 84 -> GCJ-02 in SQL, so that hot read paths write positions in a caller's system
-- into JSON that PostgreSQL builds. A single SQL expression, so that the planner
-- inlines it. x = lon - 105 and y = lat - 35 are written out; 6378245 and 0.006693...
-- are the Krasovsky 1940 ellipsoid's semi-major axis and squared eccentricity.
-- The same formulas as app.core.geo.position_from_wgs84 (prcoords), the reference
-- tests/nearby/test_sql_coordsys.py compares it with, within 1e-9 degrees.
-- Called by: coordsys_positions.
-- Keeps true: nothing stored; use_search.at and entrance_at are written with it.
-- Migrations: 0002.
-- Current text in app/db/sql, frozen copies in migrations/sql/REVISION (docs/database.md).
CREATE OR REPLACE FUNCTION public.wgs84_to_gcj02(lon double precision, lat double precision)
 RETURNS double precision[]
 LANGUAGE sql
 IMMUTABLE PARALLEL SAFE
AS $function$
    SELECT CASE WHEN NOT gcj02_applies(lon, lat) THEN ARRAY[lon, lat] ELSE ARRAY[
        lon + (300 + (lon - 105) + 2 * (lat - 35) + 0.1 * (lon - 105) ^ 2
               + 0.1 * (lon - 105) * (lat - 35) + 0.1 * sqrt(abs(lon - 105))
               + (2 * sin((lon - 105) * 6 * pi()) + 2 * sin((lon - 105) * 2 * pi())
                  + 2 * sin((lon - 105) * pi()) + 4 * sin((lon - 105) / 3 * pi())
                  + 15 * sin((lon - 105) / 12 * pi()) + 30 * sin((lon - 105) / 30 * pi())) * 20 / 3)
            / radians(6378245 * cos(radians(lat))
                      / sqrt(1 - 0.00669342162296594323 * sin(radians(lat)) ^ 2)),
        lat + (-100 + 2 * (lon - 105) + 3 * (lat - 35) + 0.2 * (lat - 35) ^ 2
               + 0.1 * (lon - 105) * (lat - 35) + 0.2 * sqrt(abs(lon - 105))
               + (2 * sin((lon - 105) * 6 * pi()) + 2 * sin((lon - 105) * 2 * pi())
                  + 2 * sin((lat - 35) * pi()) + 4 * sin((lat - 35) / 3 * pi())
                  + 16 * sin((lat - 35) / 12 * pi()) + 32 * sin((lat - 35) / 30 * pi())) * 20 / 3)
            / radians(6378245 * (1 - 0.00669342162296594323)
                      / (1 - 0.00669342162296594323 * sin(radians(lat)) ^ 2) ^ 1.5)
    ] END
$function$;
