-- stats_refresh_facility_update: Facility updates that change no figure (verification, contacts, version) cost nothing.
-- EXCEPT, not a join of the two transition tables: they carry no statistics, and the
-- planner's nested loop over them took 34 s for 10,000 rows.
-- Called by: trigger facility.stats_update.
-- Keeps true: facility_figure, through stats_refresh.
-- Migrations: 0006, 0017 (visibility).
-- Current text in app/db/sql, frozen copies in migrations/sql/REVISION (docs/database.md).
CREATE OR REPLACE FUNCTION public.stats_refresh_facility_update()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
BEGIN
    PERFORM stats_refresh(ARRAY(
        SELECT id FROM (
            SELECT id, province_code, city_code, district_code, completion_year,
                wartime_function, construction_form, status, building_area, shelter_area,
                capacity_persons, peacetime_parking_spaces, deleted_at, visibility
            FROM new_rows
            EXCEPT
            SELECT id, province_code, city_code, district_code, completion_year,
                wartime_function, construction_form, status, building_area, shelter_area,
                capacity_persons, peacetime_parking_spaces, deleted_at, visibility
            FROM old_rows) changed));
    RETURN NULL;
END $function$;
