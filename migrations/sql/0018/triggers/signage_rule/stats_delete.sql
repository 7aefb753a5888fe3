-- signage_rule.stats_delete: runs stats_refresh_rules().
-- Keeps true: facility_figure (statistics).
-- Migrations: 0006.
-- Current text in app/db/sql, frozen copies in migrations/sql/REVISION (docs/database.md).
CREATE OR REPLACE TRIGGER stats_delete AFTER DELETE ON public.signage_rule
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT
    EXECUTE FUNCTION stats_refresh_rules();
