-- division.division_part_refresh: runs division_part_refresh().
-- Keeps true: division_part (point-in-division tests).
-- Migrations: 0009.
-- Current text in app/db/sql, frozen copies in migrations/sql/REVISION (docs/database.md).
CREATE OR REPLACE TRIGGER division_part_refresh AFTER INSERT OR UPDATE OF boundary ON public.division
    FOR EACH ROW
    EXECUTE FUNCTION division_part_refresh();
