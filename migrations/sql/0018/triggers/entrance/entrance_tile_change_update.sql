-- entrance.entrance_tile_change_update: runs entrance_tile_change().
-- Keeps true: tile_change (vector tile cache eviction).
-- Migrations: 0007.
-- Current text in app/db/sql, frozen copies in migrations/sql/REVISION (docs/database.md).
CREATE OR REPLACE TRIGGER entrance_tile_change_update AFTER UPDATE ON public.entrance
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT
    EXECUTE FUNCTION entrance_tile_change();
