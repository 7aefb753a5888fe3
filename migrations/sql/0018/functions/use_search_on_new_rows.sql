-- use_search_on_new_rows: Statement-level: new rows rewrite their facilities' search rows.
-- Called by: triggers entrance.use_search_on_entrance_insert, peacetime_use.use_search_on_use_insert.
-- Keeps true: use_search, through use_search_refresh.
-- Migrations: 0005.
-- Current text in app/db/sql, frozen copies in migrations/sql/REVISION (docs/database.md).
CREATE OR REPLACE FUNCTION public.use_search_on_new_rows()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
BEGIN
    PERFORM use_search_refresh(ARRAY(SELECT DISTINCT facility_id FROM new_rows));
    RETURN NULL;
END $function$;
