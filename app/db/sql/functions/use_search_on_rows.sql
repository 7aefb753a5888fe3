-- use_search_on_rows: Statement-level: the rows a statement inserted, deleted or updated
-- (as they were and as they are) rewrite their facilities' search rows.
-- Called by: triggers entrance.use_search_on_entrance_insert, _update, _delete, and
-- peacetime_use.use_search_on_use_insert.
-- Keeps true: use_search, through use_search_refresh.
-- Migrations: 0005 (a function per transition table), 0034 (one function).
-- Current text in app/db/sql, frozen copies in migrations/sql/REVISION (docs/database.md).
CREATE OR REPLACE FUNCTION public.use_search_on_rows()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM use_search_refresh(ARRAY(SELECT DISTINCT facility_id FROM new_rows));
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM use_search_refresh(ARRAY(SELECT DISTINCT facility_id FROM old_rows));
    ELSE
        PERFORM use_search_refresh(ARRAY(
            SELECT facility_id FROM new_rows UNION SELECT facility_id FROM old_rows));
    END IF;
    RETURN NULL;
END $function$;
