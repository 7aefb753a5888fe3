-- problem_report.stats_update: runs stats_refresh_rows().
-- Keeps true: facility_figure (statistics).
-- Migrations: 0006.
-- Current text in app/db/sql, frozen copies in migrations/sql/REVISION (docs/database.md).
CREATE OR REPLACE TRIGGER stats_update AFTER UPDATE ON public.problem_report
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT
    EXECUTE FUNCTION stats_refresh_rows('facility_id');
