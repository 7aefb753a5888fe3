-- occupancy_fresh: The staleness rule of live parking figures, one expression so that the planner
-- inlines it. Python twin for single uses: app.uses.service.availability.
-- Called by: the nearby search (app/nearby/repository.py) and the OGC parking collection
--   (app/ogc/collections.py).
-- Keeps true: nothing stored.
-- Migrations: 0008.
-- Current text in app/db/sql, frozen copies in migrations/sql/REVISION (docs/database.md).
CREATE OR REPLACE FUNCTION public.occupancy_fresh(observed_at timestamp with time zone, stale_after_s integer)
 RETURNS boolean
 LANGUAGE sql
 STABLE PARALLEL SAFE
AS $function$
    SELECT observed_at > now() - make_interval(secs => stale_after_s)
$function$;
