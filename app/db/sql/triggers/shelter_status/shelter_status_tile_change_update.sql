-- shelter_status.shelter_status_tile_change_update: runs shelter_status_tile_change().
-- Keeps true: tile_change (vector tile cache eviction).
-- Migrations: 0028.
-- Current text in app/db/sql, frozen copies in migrations/sql/REVISION (docs/database.md).
CREATE OR REPLACE TRIGGER shelter_status_tile_change_update AFTER UPDATE ON public.shelter_status
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT
    EXECUTE FUNCTION shelter_status_tile_change();
