-- coordsys_positions: A WGS 84 position in the three systems an answer may use: wgs84, gcj02, bd09 (six
-- numbers). PL/pgSQL, to compute the GCJ-02 shift once: the inlined SQL functions
-- evaluate it cheaply.
-- Called by: use_search_refresh.
-- Keeps true: use_search.at and use_search.entrance_at.
-- Migrations: 0005.
-- Current text in app/db/sql, frozen copies in migrations/sql/REVISION (docs/database.md).
CREATE OR REPLACE FUNCTION public.coordsys_positions(lon double precision, lat double precision)
 RETURNS double precision[]
 LANGUAGE plpgsql
 IMMUTABLE PARALLEL SAFE
AS $function$
DECLARE
    gcj float8[] := wgs84_to_gcj02(lon, lat);
BEGIN
    RETURN ARRAY[lon, lat] || gcj || CASE WHEN gcj02_applies(lon, lat)
        THEN gcj02_to_bd09(gcj[1], gcj[2]) ELSE ARRAY[lon, lat] END;
END $function$;
