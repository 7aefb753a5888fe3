-- division_part_refresh: Cuts a division's boundary into pieces of at most 256 vertices (placing a million
-- points took 265 s against whole boundaries, 63 s against pieces). Deletes cascade
-- through the foreign key.
-- Called by: trigger division.division_part_refresh (AFTER INSERT OR UPDATE OF boundary).
-- Keeps true: division_part (every point-in-division test).
-- Migrations: 0009.
-- Current text in app/db/sql, frozen copies in migrations/sql/REVISION (docs/database.md).
CREATE OR REPLACE FUNCTION public.division_part_refresh()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
BEGIN
    DELETE FROM division_part WHERE code = NEW.code;
    INSERT INTO division_part (code, part)
    SELECT NEW.code, ST_Subdivide(NEW.boundary, 256)
    WHERE NEW.boundary IS NOT NULL;
    RETURN NULL;
END $function$;
