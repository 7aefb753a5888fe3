-- peacetime_use.peacetime_use_tile_cell_insert: runs peacetime_use_tile_cell().
-- Keeps true: tile_cell (the cluster pyramid of vector tiles).
-- Migrations: 0033.
-- Current text in app/db/sql, frozen copies in migrations/sql/REVISION (docs/database.md).
CREATE OR REPLACE TRIGGER peacetime_use_tile_cell_insert AFTER INSERT ON public.peacetime_use
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT
    EXECUTE FUNCTION peacetime_use_tile_cell();
