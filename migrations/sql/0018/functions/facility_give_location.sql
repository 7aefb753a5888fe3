-- facility_give_location: Copies a moved facility's location onto its peacetime uses.
-- Called by: trigger facility.facility_give_location (AFTER UPDATE OF location).
-- Keeps true: peacetime_use.location, with peacetime_use_take_location.
-- Migrations: 0002.
-- Current text in app/db/sql, frozen copies in migrations/sql/REVISION (docs/database.md).
CREATE OR REPLACE FUNCTION public.facility_give_location()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
BEGIN
    UPDATE peacetime_use SET location = NEW.location::geography WHERE facility_id = NEW.id;
    RETURN NULL;
END $function$;
