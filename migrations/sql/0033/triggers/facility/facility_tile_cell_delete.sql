-- facility.facility_tile_cell_delete: runs facility_tile_cell().
-- Keeps true: tile_cell (the cluster pyramid of vector tiles).
-- Migrations: 0033.
-- Current text in app/db/sql, frozen copies in migrations/sql/REVISION (docs/database.md).
CREATE OR REPLACE TRIGGER facility_tile_cell_delete AFTER DELETE ON public.facility
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT
    EXECUTE FUNCTION facility_tile_cell();
