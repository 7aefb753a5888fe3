-- sign.sign_tile_change_insert: runs sign_tile_change().
-- Keeps true: tile_change (vector tile cache eviction).
-- Migrations: 0007.
-- Current text in app/db/sql, frozen copies in migrations/sql/REVISION (docs/database.md).
CREATE OR REPLACE TRIGGER sign_tile_change_insert AFTER INSERT ON public.sign
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT
    EXECUTE FUNCTION sign_tile_change();
