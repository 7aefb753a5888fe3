-- stats_refresh: Recomputes the figures of the given facilities from their sources, planned for the
-- facilities at hand (EXECUTE ... USING: hash joins for an import, index lookups for
-- one write). The signage rule (most specific locality with rules, parking rules for
-- car parks, installed signs only) is the one of app/signage/repository.py; the tests
-- of tests/stats compare the figures with the API's own computations.
-- Called by: stats_refresh_rows, stats_refresh_facility_update, stats_refresh_checks,
--   stats_refresh_rules.
-- Keeps true: facility_figure (statistics).
-- Migrations: 0006, 0012 (planned per call), 0015 (signage set-wise), 0017 (visibility).
-- Current text in app/db/sql, frozen copies in migrations/sql/REVISION (docs/database.md).
CREATE OR REPLACE FUNCTION public.stats_refresh(ids bigint[])
 RETURNS void
 LANGUAGE plpgsql
AS $function$
BEGIN
    DELETE FROM facility_figure WHERE facility_id = ANY(ids);
    EXECUTE $sql$
    WITH u AS (
        SELECT facility_id,
            sum(total_spaces) FILTER (WHERE type = 'parking') AS parking_spaces,
            sum(ev_spaces) FILTER (WHERE type = 'parking') AS ev_spaces,
            sum(charging_piles) AS charging_piles,
            bool_or(type = 'parking') AS use_parking, bool_or(type = 'ev_charging') AS use_ev_charging, bool_or(type = 'gym') AS use_gym, bool_or(type = 'cool_spot') AS use_cool_spot, bool_or(type = 'express_delivery') AS use_express_delivery, bool_or(type = 'cultural_room') AS use_cultural_room, bool_or(type = 'convenience_store') AS use_convenience_store, bool_or(type = 'food_market') AS use_food_market, bool_or(type = 'warehouse') AS use_warehouse, bool_or(type = 'other') AS use_other
        FROM peacetime_use WHERE facility_id = ANY($1)
        GROUP BY facility_id
    ), f AS (
        SELECT f.id, f.province_code, f.city_code, f.district_code, f.completion_year, f.wartime_function, f.construction_form, f.status, f.building_area, f.shelter_area, f.capacity_persons, f.peacetime_parking_spaces, f.visibility,
            coalesce(u.use_parking, false) AS parks,
            CASE WHEN f.district_code IN (SELECT admin_code FROM signage_rule)
                 THEN f.district_code
                 WHEN f.city_code IN (SELECT admin_code FROM signage_rule) THEN f.city_code
                 WHEN f.province_code IN (SELECT admin_code FROM signage_rule)
                 THEN f.province_code END AS rule_code
        FROM facility f LEFT JOIN u ON u.facility_id = f.id
        WHERE f.id = ANY($1) AND f.deleted_at IS NULL
    ), counted AS (
        SELECT facility_id, kind, count(*) AS n FROM sign
        WHERE facility_id = ANY($1) AND status = 'installed'
        GROUP BY facility_id, kind
    ), short AS (
        SELECT DISTINCT f.id FROM f
        JOIN signage_rule rule ON rule.admin_code = f.rule_code
        LEFT JOIN counted c ON c.facility_id = f.id AND c.kind = rule.kind
        WHERE (rule.applies_to = 'all' OR (rule.applies_to = 'parking'
               AND (f.peacetime_parking_spaces IS NOT NULL OR f.parks)))
          AND rule.min_count > coalesce(c.n, 0)
    ), m AS (
        SELECT mr.facility_id, count(*) AS open_findings
        FROM maintenance_record mr JOIN maintenance_check c ON c.record_id = mr.id
        WHERE mr.facility_id = ANY($1) AND c.severity = 'serious'
          AND NOT EXISTS (SELECT FROM maintenance_record x WHERE x.corrects_id = mr.id)
          AND NOT EXISTS (
              SELECT FROM maintenance_check k JOIN maintenance_record kr ON kr.id = k.record_id
              WHERE k.closes_id = c.id AND kr.kind = 'repair'
                AND NOT EXISTS (SELECT FROM maintenance_record x WHERE x.corrects_id = kr.id))
        GROUP BY mr.facility_id
    ), r AS (
        SELECT facility_id, count(*) AS open_reports FROM problem_report
        WHERE facility_id = ANY($1) AND status <> 'resolved'
        GROUP BY facility_id
    )
    INSERT INTO facility_figure
    SELECT f.id, f.province_code, f.city_code, f.district_code, f.completion_year,
        f.wartime_function, f.construction_form, f.status, f.building_area, f.shelter_area,
        f.capacity_persons, coalesce(u.parking_spaces, f.peacetime_parking_spaces, 0),
        coalesce(u.ev_spaces, 0), coalesce(u.charging_piles, 0),
        coalesce(u.use_parking, false), coalesce(u.use_ev_charging, false), coalesce(u.use_gym, false), coalesce(u.use_cool_spot, false), coalesce(u.use_express_delivery, false), coalesce(u.use_cultural_room, false), coalesce(u.use_convenience_store, false), coalesce(u.use_food_market, false), coalesce(u.use_warehouse, false), coalesce(u.use_other, false),
        s.id IS NULL,
        coalesce(m.open_findings, 0), coalesce(r.open_reports, 0), f.visibility
    FROM f
    LEFT JOIN u ON u.facility_id = f.id
    LEFT JOIN short s ON s.id = f.id
    LEFT JOIN m ON m.facility_id = f.id
    LEFT JOIN r ON r.facility_id = f.id
    $sql$ USING ids;
END $function$;
