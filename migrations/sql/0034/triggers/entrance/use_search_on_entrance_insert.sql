-- entrance.use_search_on_entrance_insert: runs use_search_on_rows().
-- Keeps true: use_search (nearby search).
-- Migrations: 0005, 0034 (use_search_on_rows).
-- Current text in app/db/sql, frozen copies in migrations/sql/REVISION (docs/database.md).
CREATE OR REPLACE TRIGGER use_search_on_entrance_insert AFTER INSERT ON public.entrance
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT
    EXECUTE FUNCTION use_search_on_rows();
