-- facility.facility_tile_cell_cascade: runs facility_tile_cell_cascade() for a shown facility.
-- Keeps true: tile_cell (the cluster pyramid of vector tiles).
-- Migrations: 0033.
-- Current text in app/db/sql, frozen copies in migrations/sql/REVISION (docs/database.md).
CREATE OR REPLACE TRIGGER facility_tile_cell_cascade BEFORE DELETE ON public.facility
    FOR EACH ROW
    WHEN (old.deleted_at IS NULL AND old.visibility = 'public')
    EXECUTE FUNCTION facility_tile_cell_cascade();
