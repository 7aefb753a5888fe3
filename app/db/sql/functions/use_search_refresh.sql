-- use_search_refresh: Rewrites the use_search rows of these facilities from the registry: the uses of
-- public works in service, with the entrances a visitor would use (never a wartime one).
-- Called by: the use_search_on_* trigger functions; migrations 0005 and 0017 (backfill).
-- Keeps true: use_search (nearby search).
-- The ids are joined as a set (unnest), never tested with = ANY (facility_ids): a SQL
-- function's parameter is no constant, so PostgreSQL searches such an array from its start
-- for every row it tests, and an insert of a million entrances (a demo load, an import)
-- spent its time comparing ids, growing with the square of the rows.
-- Migrations: 0005, 0017 (visibility), 0025 (ids as a set), 0032 (columns named: the
-- generated name_uri follows them).
-- Current text in app/db/sql, frozen copies in migrations/sql/REVISION (docs/database.md).
CREATE OR REPLACE FUNCTION public.use_search_refresh(facility_ids bigint[])
 RETURNS void
 LANGUAGE sql
AS $function$
    DELETE FROM use_search s USING unnest(facility_ids) AS i(id)
    WHERE s.facility_id = i.id AND NOT EXISTS (
        SELECT FROM peacetime_use u JOIN facility f ON f.id = u.facility_id
        WHERE u.id = s.use_id AND u.facility_id = s.facility_id
          AND f.deleted_at IS NULL AND f.status = 'in_service' AND f.visibility = 'public');
    INSERT INTO use_search (
        use_id, facility_id, type, location, name, opening_hours, charging_piles,
        accessible_spaces, height_limit_m, accessible_entrance, realtime_free_spaces,
        realtime_free_charging_piles, realtime_opening_status, realtime_observed_at, doc, at,
        entrance_points, entrance_docs, entrance_at)
    SELECT u.id, u.facility_id, u.type, u.location, coalesce(u.name, f.name), u.opening_hours,
           u.charging_piles, u.accessible_spaces, u.height_limit_m,
           EXISTS (SELECT FROM entrance a WHERE a.facility_id = f.id AND a.accessible),
           u.realtime_free_spaces, u.realtime_free_charging_piles,
           u.realtime_opening_status, u.realtime_observed_at,
           use_search_doc(u, f), coordsys_positions(ST_X(f.location), ST_Y(f.location)),
           e.points, e.docs, e.at
    FROM peacetime_use u
    JOIN facility f ON f.id = u.facility_id
    LEFT JOIN LATERAL (
        SELECT ST_Collect(a.location ORDER BY a.id) AS points,
               array_agg(json_build_object('id', a.id, 'kind', a.kind,
                                           'accessible', a.accessible, 'name', a.name)::text
                         ORDER BY a.id) AS docs,
               ARRAY(SELECT unnest(array_agg(
                   coordsys_positions(ST_X(a.location), ST_Y(a.location)) ORDER BY a.id))) AS at
        FROM (
            SELECT e.*, rank() OVER (ORDER BY CASE e.kind
                       WHEN CASE WHEN u.type = 'parking' THEN 'vehicle' ELSE 'pedestrian' END
                           THEN 0 WHEN 'wartime' THEN 2 ELSE 1 END) AS tier
            FROM entrance e
            WHERE e.facility_id = f.id AND e.kind <> 'wartime'
        ) AS a
        WHERE a.tier = 1
    ) AS e ON true
    WHERE f.id IN (SELECT unnest(facility_ids)) AND f.deleted_at IS NULL AND f.status = 'in_service' AND f.visibility = 'public'
    ON CONFLICT (use_id) DO UPDATE SET (
        facility_id, type, location, name, opening_hours, charging_piles, accessible_spaces,
        height_limit_m, accessible_entrance, realtime_free_spaces, realtime_free_charging_piles,
        realtime_opening_status, realtime_observed_at, doc, at,
        entrance_points, entrance_docs, entrance_at
    ) = (
        EXCLUDED.facility_id, EXCLUDED.type, EXCLUDED.location, EXCLUDED.name,
        EXCLUDED.opening_hours, EXCLUDED.charging_piles, EXCLUDED.accessible_spaces,
        EXCLUDED.height_limit_m, EXCLUDED.accessible_entrance, EXCLUDED.realtime_free_spaces,
        EXCLUDED.realtime_free_charging_piles, EXCLUDED.realtime_opening_status,
        EXCLUDED.realtime_observed_at, EXCLUDED.doc, EXCLUDED.at,
        EXCLUDED.entrance_points, EXCLUDED.entrance_docs, EXCLUDED.entrance_at
    );
$function$;
