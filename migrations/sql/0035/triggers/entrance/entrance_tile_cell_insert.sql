-- entrance.entrance_tile_cell_insert: runs entrance_tile_cell().
-- Keeps true: tile_cell (the cluster pyramid of vector tiles).
-- Migrations: 0035.
-- Current text in app/db/sql, frozen copies in migrations/sql/REVISION (docs/database.md).
CREATE OR REPLACE TRIGGER entrance_tile_cell_insert AFTER INSERT ON public.entrance
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT
    EXECUTE FUNCTION entrance_tile_cell();
