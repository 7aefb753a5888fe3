-- division.division_tile_change_delete: runs division_tile_change().
-- Keeps true: tile_change (vector tile cache eviction).
-- Migrations: 0024.
-- Current text in app/db/sql, frozen copies in migrations/sql/REVISION (docs/database.md).
CREATE OR REPLACE TRIGGER division_tile_change_delete AFTER DELETE ON public.division
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT
    EXECUTE FUNCTION division_tile_change();
