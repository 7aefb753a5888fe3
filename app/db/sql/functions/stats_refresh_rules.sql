-- stats_refresh_rules: A locality's signage rules change rarely and touch every facility in it.
-- Called by: triggers signage_rule.stats_insert, stats_update, stats_delete.
-- Keeps true: facility_figure, through stats_refresh.
-- Migrations: 0006.
-- Current text in app/db/sql, frozen copies in migrations/sql/REVISION (docs/database.md).
CREATE OR REPLACE FUNCTION public.stats_refresh_rules()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
DECLARE
    codes varchar[];
BEGIN
    IF TG_OP = 'INSERT' THEN
        codes := ARRAY(SELECT admin_code FROM new_rows);
    ELSIF TG_OP = 'DELETE' THEN
        codes := ARRAY(SELECT admin_code FROM old_rows);
    ELSE
        codes := ARRAY(SELECT admin_code FROM new_rows UNION SELECT admin_code FROM old_rows);
    END IF;
    PERFORM stats_refresh(ARRAY(
        SELECT id FROM facility WHERE province_code = ANY(codes) OR city_code = ANY(codes)
            OR district_code = ANY(codes)));
    RETURN NULL;
END $function$;
