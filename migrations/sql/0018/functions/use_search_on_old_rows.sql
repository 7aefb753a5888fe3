-- use_search_on_old_rows: Statement-level: deleted rows rewrite their facilities' search rows.
-- Called by: trigger entrance.use_search_on_entrance_delete.
-- Keeps true: use_search, through use_search_refresh.
-- Migrations: 0005.
-- Current text in app/db/sql, frozen copies in migrations/sql/REVISION (docs/database.md).
CREATE OR REPLACE FUNCTION public.use_search_on_old_rows()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
BEGIN
    PERFORM use_search_refresh(ARRAY(SELECT DISTINCT facility_id FROM old_rows));
    RETURN NULL;
END $function$;
