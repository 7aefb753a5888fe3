-- use_search_on_use_update: Live figures are copied as they come (gate systems push every minute or so); anything
-- else about a use rewrites its documents.
-- Called by: trigger peacetime_use.use_search_on_use_update.
-- Keeps true: use_search (realtime_* columns directly, the rest through use_search_refresh).
-- Migrations: 0005.
-- Current text in app/db/sql, frozen copies in migrations/sql/REVISION (docs/database.md).
CREATE OR REPLACE FUNCTION public.use_search_on_use_update()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
BEGIN
    UPDATE use_search s
    SET realtime_free_spaces = n.realtime_free_spaces,
        realtime_free_charging_piles = n.realtime_free_charging_piles,
        realtime_opening_status = n.realtime_opening_status,
        realtime_observed_at = n.realtime_observed_at
    FROM new_rows n JOIN old_rows o USING (id)
    WHERE s.use_id = n.id
      AND (n.realtime_free_spaces, n.realtime_free_charging_piles,
           n.realtime_opening_status, n.realtime_observed_at)
          IS DISTINCT FROM (o.realtime_free_spaces, o.realtime_free_charging_piles,
                            o.realtime_opening_status, o.realtime_observed_at);
    PERFORM use_search_refresh(ARRAY(
        SELECT unnest(ARRAY[n.facility_id, o.facility_id])
        FROM new_rows n JOIN old_rows o USING (id)
        WHERE (n.facility_id, n.type, n.name, n.opening_hours, n.fee, n.contact_phone,
               n.attributes, n.location)
              IS DISTINCT FROM (o.facility_id, o.type, o.name, o.opening_hours, o.fee,
                                o.contact_phone, o.attributes, o.location)));
    RETURN NULL;
END $function$;
