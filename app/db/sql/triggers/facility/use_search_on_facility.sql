-- facility.use_search_on_facility: runs use_search_on_facility().
-- Keeps true: use_search (nearby search).
-- Migrations: 0005.
-- Current text in app/db/sql, frozen copies in migrations/sql/REVISION (docs/database.md).
CREATE OR REPLACE TRIGGER use_search_on_facility AFTER UPDATE ON public.facility
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT
    EXECUTE FUNCTION use_search_on_facility();
