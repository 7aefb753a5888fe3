-- entrance.entrance_tile_change_delete: runs entrance_tile_change().
-- Keeps true: tile_change (vector tile cache eviction).
-- Migrations: 0007.
-- Current text in app/db/sql, frozen copies in migrations/sql/REVISION (docs/database.md).
CREATE OR REPLACE TRIGGER entrance_tile_change_delete AFTER DELETE ON public.entrance
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT
    EXECUTE FUNCTION entrance_tile_change();
