-- peacetime_use.peacetime_use_tile_change_insert: runs peacetime_use_tile_change().
-- Keeps true: tile_change (vector tile cache eviction).
-- Migrations: 0007.
-- Current text in app/db/sql, frozen copies in migrations/sql/REVISION (docs/database.md).
CREATE OR REPLACE TRIGGER peacetime_use_tile_change_insert AFTER INSERT ON public.peacetime_use
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT
    EXECUTE FUNCTION peacetime_use_tile_change();
