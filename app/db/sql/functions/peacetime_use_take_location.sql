-- peacetime_use_take_location: A use's location is its facility's, copied so that nearby search is one KNN scan of one index.
-- Called by: trigger peacetime_use.peacetime_use_take_location (BEFORE INSERT OR UPDATE OF facility_id).
-- Keeps true: peacetime_use.location; facility_give_location keeps it when the facility moves.
-- Migrations: 0002.
-- Current text in app/db/sql, frozen copies in migrations/sql/REVISION (docs/database.md).
CREATE OR REPLACE FUNCTION public.peacetime_use_take_location()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
BEGIN
    NEW.location := (SELECT location::geography FROM facility WHERE id = NEW.facility_id);
    RETURN NEW;
END $function$;
