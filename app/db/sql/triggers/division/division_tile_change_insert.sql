-- division.division_tile_change_insert: runs division_tile_change().
-- Keeps true: tile_change (vector tile cache eviction).
-- Migrations: 0024.
-- Current text in app/db/sql, frozen copies in migrations/sql/REVISION (docs/database.md).
CREATE OR REPLACE TRIGGER division_tile_change_insert AFTER INSERT ON public.division
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT
    EXECUTE FUNCTION division_tile_change();
