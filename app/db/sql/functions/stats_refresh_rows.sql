-- stats_refresh_rows: Statement-level, with transition tables: a COPY of a million facilities refreshes
-- them in one set-wise statement, not a million times one. TG_ARGV[0] names the
-- column that holds the facility id.
-- Called by: the stats_insert/update/delete triggers of facility (insert), peacetime_use, sign,
--   problem_report and maintenance_record (insert).
-- Keeps true: facility_figure, through stats_refresh.
-- Migrations: 0006.
-- Current text in app/db/sql, frozen copies in migrations/sql/REVISION (docs/database.md).
CREATE OR REPLACE FUNCTION public.stats_refresh_rows()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
DECLARE
    ids bigint[];
BEGIN
    IF TG_OP = 'INSERT' THEN
        EXECUTE format('SELECT array_agg(DISTINCT %I) FROM new_rows', TG_ARGV[0]) INTO ids;
    ELSIF TG_OP = 'DELETE' THEN
        EXECUTE format('SELECT array_agg(DISTINCT %I) FROM old_rows', TG_ARGV[0]) INTO ids;
    ELSE
        EXECUTE format('SELECT array_agg(DISTINCT x) FROM (SELECT %1$I AS x FROM new_rows'
                       ' UNION SELECT %1$I FROM old_rows) s', TG_ARGV[0]) INTO ids;
    END IF;
    PERFORM stats_refresh(ids);
    RETURN NULL;
END $function$;
