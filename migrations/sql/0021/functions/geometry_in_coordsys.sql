-- geometry_in_coordsys: A stored WGS 84 geometry with every vertex in the caller's system: 'gcj02'
-- (Amap, Tencent) or 'bd09' (Baidu) shifted by wgs84_to_gcj02 and gcj02_to_bd09 where
-- GCJ-02 applies; any other system ('wgs84', 'cgcs2000') returns it as it is. Points are
-- the common case and take the short way; other types are rebuilt part by part.
-- Called by: app.core.geo.in_coordsys (facility documents and lists, signs, exports,
-- OGC items in a shifted CRS, GCJ-02 vector tiles).
-- Keeps true: nothing stored.
-- Migrations: 0021.
-- Current text in app/db/sql, frozen copies in migrations/sql/REVISION (docs/database.md).
CREATE OR REPLACE FUNCTION public.geometry_in_coordsys(geom geometry, coordsys text)
 RETURNS geometry
 LANGUAGE plpgsql
 IMMUTABLE STRICT PARALLEL SAFE
AS $function$
DECLARE
    shifted float8[];
BEGIN
    IF coordsys NOT IN ('gcj02', 'bd09') THEN
        RETURN geom;
    END IF;
    CASE GeometryType(geom)
    WHEN 'POINT' THEN
        shifted := wgs84_to_gcj02(ST_X(geom), ST_Y(geom));
        IF coordsys = 'bd09' AND gcj02_applies(ST_X(geom), ST_Y(geom)) THEN
            shifted := gcj02_to_bd09(shifted[1], shifted[2]);
        END IF;
        RETURN ST_SetSRID(ST_MakePoint(shifted[1], shifted[2]), ST_SRID(geom));
    WHEN 'LINESTRING' THEN
        RETURN ST_MakeLine(ARRAY(
            SELECT geometry_in_coordsys(d.geom, coordsys)
            FROM ST_DumpPoints(geom) AS d ORDER BY d.path[1]));
    WHEN 'POLYGON' THEN
        RETURN ST_MakePolygon(
            geometry_in_coordsys(ST_ExteriorRing(geom), coordsys),
            ARRAY(SELECT geometry_in_coordsys(ST_InteriorRingN(geom, n), coordsys)
                  FROM generate_series(1, ST_NumInteriorRings(geom)) AS n ORDER BY n));
    ELSE
        -- MULTI* and collections: ST_Collect of an array keeps the multi type.
        RETURN ST_SetSRID(ST_Collect(ARRAY(
            SELECT geometry_in_coordsys(ST_GeometryN(geom, n), coordsys)
            FROM generate_series(1, ST_NumGeometries(geom)) AS n ORDER BY n)), ST_SRID(geom));
    END CASE;
END $function$;
