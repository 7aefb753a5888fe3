-- sign.sign_tile_cell_delete: runs sign_tile_cell().
-- Keeps true: tile_cell (the cluster pyramid of vector tiles).
-- Migrations: 0035.
-- Current text in app/db/sql, frozen copies in migrations/sql/REVISION (docs/database.md).
CREATE OR REPLACE TRIGGER sign_tile_cell_delete AFTER DELETE ON public.sign
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT
    EXECUTE FUNCTION sign_tile_cell();
