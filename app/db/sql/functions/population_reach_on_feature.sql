-- population_reach_on_feature: A point feature's distances to the nearest shelter, public
-- or any, as it is written; an area or a division row has none (coverage takes the
-- union of the circles for those). Takes the lock population_reach_on_facility takes,
-- so that a shelter committed meanwhile is not missed.
-- Called by: trigger population_feature.population_reach (BEFORE INSERT OR UPDATE OF geom).
-- Keeps true: population_feature.shelter_m and .public_shelter_m (coverage).
-- Migrations: 0029.
-- Current text in app/db/sql, frozen copies in migrations/sql/REVISION (docs/database.md).
CREATE OR REPLACE FUNCTION public.population_reach_on_feature()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
BEGIN
    IF GeometryType(NEW.geom) = 'POINT' THEN
        PERFORM pg_advisory_xact_lock('population_feature'::regclass::integer, 0);
        NEW.shelter_m := shelter_distance(NEW.geom, false);
        NEW.public_shelter_m := shelter_distance(NEW.geom, true);
    ELSE
        NEW.shelter_m := NULL;
        NEW.public_shelter_m := NULL;
    END IF;
    RETURN NEW;
END $function$;
