-- use_search_on_facility: Statement-level: a facility update that changes what a search shows rewrites its rows.
-- Called by: trigger facility.use_search_on_facility.
-- Keeps true: use_search, through use_search_refresh.
-- Migrations: 0005, 0017 (visibility).
-- Current text in app/db/sql, frozen copies in migrations/sql/REVISION (docs/database.md).
CREATE OR REPLACE FUNCTION public.use_search_on_facility()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
BEGIN
    PERFORM use_search_refresh(ARRAY(
        SELECT n.id FROM new_rows n JOIN old_rows o USING (id)
        WHERE (n.name, n.address, n.status, n.deleted_at, n.location, n.visibility)
              IS DISTINCT FROM (o.name, o.address, o.status, o.deleted_at, o.location, o.visibility)));
    RETURN NULL;
END $function$;
