-- gcj02_to_bd09: BD-09 from a GCJ-02 position, as Baidu defines it on top of GCJ-02. Only for positions
-- that were shifted: whether they were is decided on the WGS 84 position, by the
-- caller. Python twin: app.core.geo.position_from_wgs84(..., CoordSys.bd09), held to
-- agreement by tests/nearby/test_sql_coordsys.py.
-- Called by: coordsys_positions.
-- Keeps true: nothing stored; use_search.at and entrance_at are written with it.
-- Migrations: 0002.
-- Current text in app/db/sql, frozen copies in migrations/sql/REVISION (docs/database.md).
CREATE OR REPLACE FUNCTION public.gcj02_to_bd09(lon double precision, lat double precision)
 RETURNS double precision[]
 LANGUAGE sql
 IMMUTABLE PARALLEL SAFE
AS $function$
    SELECT ARRAY[
        (sqrt(lon * lon + lat * lat) + 0.00002 * sin(radians(lat) * 3000))
            * cos(atan2(lat, lon) + 0.000003 * cos(radians(lon) * 3000)) + 0.0065,
        (sqrt(lon * lon + lat * lat) + 0.00002 * sin(radians(lat) * 3000))
            * sin(atan2(lat, lon) + 0.000003 * cos(radians(lon) * 3000)) + 0.006
    ]
$function$;
