-- entrance.entrance_tile_cell_delete: runs entrance_tile_cell().
-- Keeps true: tile_cell (the cluster pyramid of vector tiles).
-- Migrations: 0035.
-- Current text in app/db/sql, frozen copies in migrations/sql/REVISION (docs/database.md).
CREATE OR REPLACE TRIGGER entrance_tile_cell_delete AFTER DELETE ON public.entrance
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT
    EXECUTE FUNCTION entrance_tile_cell();
