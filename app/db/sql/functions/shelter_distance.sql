-- shelter_distance: Metres on the WGS 84 ellipsoid from a point to the nearest personnel shelter in
-- service (of the public ones only, or of all), NULL when none is within 5 km, the
-- largest service radius coverage accepts (app.planning.models.MAX_RADIUS_M). The index
-- orders by distance on the sphere, which may rank shelters at nearly equal distances
-- otherwise than the ellipsoid does: the sphere's nearest gives a bound on the
-- ellipsoid, and one radius search within it finds the true nearest. The search reaches
-- a millimetre further, as ST_DWithin and ST_Distance may differ in the last bits.
-- Called by: population_reach_on_feature, population_reach_on_facility.
-- Keeps true: population_feature.shelter_m and .public_shelter_m (coverage).
-- Migrations: 0029.
-- Current text in app/db/sql, frozen copies in migrations/sql/REVISION (docs/database.md).
CREATE OR REPLACE FUNCTION public.shelter_distance(place geometry, public_only boolean)
 RETURNS double precision
 LANGUAGE sql
 STABLE PARALLEL SAFE
AS $function$
    SELECT nearest FROM (
        SELECT min(ST_Distance(s.location::geography, place::geography)) AS nearest
        FROM (
            SELECT least(ST_Distance(n.location::geography, place::geography), 5000) AS bound
            FROM facility n
            WHERE n.wartime_function = 'personnel_shelter' AND n.status = 'in_service'
              AND n.deleted_at IS NULL AND (n.visibility = 'public' OR NOT public_only)
            ORDER BY n.location::geography <-> place::geography
            LIMIT 1
        ) first
        JOIN facility s
          ON ST_DWithin(s.location::geography, place::geography, first.bound + 0.001)
        WHERE s.wartime_function = 'personnel_shelter' AND s.status = 'in_service'
          AND s.deleted_at IS NULL AND (s.visibility = 'public' OR NOT public_only)
    ) found
    WHERE nearest <= 5000
$function$;
