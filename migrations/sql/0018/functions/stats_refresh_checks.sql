-- stats_refresh_checks: A new maintenance check (or the check it closes) changes its facility's open items.
-- Called by: trigger maintenance_check.stats_insert.
-- Keeps true: facility_figure, through stats_refresh.
-- Migrations: 0006.
-- Current text in app/db/sql, frozen copies in migrations/sql/REVISION (docs/database.md).
CREATE OR REPLACE FUNCTION public.stats_refresh_checks()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
BEGIN
    PERFORM stats_refresh(ARRAY(
        SELECT DISTINCT r.facility_id FROM maintenance_record r
        WHERE r.id IN (SELECT record_id FROM new_rows
                       UNION SELECT c.record_id FROM maintenance_check c
                       WHERE c.id IN (SELECT closes_id FROM new_rows))));
    RETURN NULL;
END $function$;
