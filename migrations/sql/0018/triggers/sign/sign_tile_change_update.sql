-- sign.sign_tile_change_update: runs sign_tile_change().
-- Keeps true: tile_change (vector tile cache eviction).
-- Migrations: 0007.
-- Current text in app/db/sql, frozen copies in migrations/sql/REVISION (docs/database.md).
CREATE OR REPLACE TRIGGER sign_tile_change_update AFTER UPDATE ON public.sign
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT
    EXECUTE FUNCTION sign_tile_change();
