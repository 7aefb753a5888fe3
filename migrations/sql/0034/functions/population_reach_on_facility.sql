-- population_reach_on_facility: A shelter that comes, goes, moves or changes visibility changes the nearest
-- shelter only of the point features within 5 km of where it was or is, and of those
-- only the ones it is (or was) at most as far from as their nearest public shelter:
-- those are computed again. Updates that change no shelter (contacts, areas, other
-- functions) find nothing and cost two small scans. Over 1,000 changed shelters (an
-- import, the demo load) every point feature is computed again, cheaper than a radius
-- search around each. The searches reach a millimetre further, as ST_DWithin and
-- ST_Distance (which wrote the distances) may differ in the last bits. The advisory lock orders concurrent writers, so that a
-- recomputation never misses a shelter another transaction committed meanwhile.
-- Called by: triggers facility.population_reach_insert, _update, _delete.
-- Keeps true: population_feature.shelter_m and .public_shelter_m (coverage).
-- Migrations: 0029, 0034 (the changed states as one grouping).
-- Current text in app/db/sql, frozen copies in migrations/sql/REVISION (docs/database.md).
CREATE OR REPLACE FUNCTION public.population_reach_on_facility()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
DECLARE
    changed geography[];
BEGIN
    IF NOT EXISTS (SELECT FROM population_feature WHERE point) THEN
        RETURN NULL;
    END IF;
    IF TG_OP = 'INSERT' THEN
        changed := ARRAY(
            SELECT DISTINCT location::geography FROM new_rows
            WHERE wartime_function = 'personnel_shelter' AND status = 'in_service'
              AND deleted_at IS NULL);
    ELSIF TG_OP = 'DELETE' THEN
        changed := ARRAY(
            SELECT DISTINCT location::geography FROM old_rows
            WHERE wartime_function = 'personnel_shelter' AND status = 'in_service'
              AND deleted_at IS NULL);
    ELSE
        -- a shelter's state is its position and visibility, a row that is no shelter has
        -- none: the states found on one side only, before or after, are the changes
        changed := ARRAY(
            SELECT DISTINCT location::geography FROM (
                SELECT id, location, visibility FROM old_rows
                WHERE wartime_function = 'personnel_shelter' AND status = 'in_service'
                  AND deleted_at IS NULL
                UNION ALL
                SELECT id, location, visibility FROM new_rows
                WHERE wartime_function = 'personnel_shelter' AND status = 'in_service'
                  AND deleted_at IS NULL) states
            GROUP BY id, location, visibility
            HAVING count(*) = 1);
    END IF;
    IF cardinality(changed) = 0 THEN
        RETURN NULL;
    END IF;
    PERFORM pg_advisory_xact_lock('population_feature'::regclass::integer, 0);
    IF cardinality(changed) > 1000 THEN
        UPDATE population_feature
        SET shelter_m = shelter_distance(geom, false),
            public_shelter_m = shelter_distance(geom, true)
        WHERE point;
    ELSE
        UPDATE population_feature
        SET shelter_m = shelter_distance(geom, false),
            public_shelter_m = shelter_distance(geom, true)
        WHERE id IN (
            SELECT p.id
            FROM unnest(changed) c(position)
            JOIN population_feature p
              ON p.point AND ST_DWithin(p.geom::geography, c.position, 5000.001)
            WHERE ST_DWithin(p.geom::geography, c.position,
                             coalesce(p.public_shelter_m, 5000) + 0.001));
    END IF;
    RETURN NULL;
END $function$;
