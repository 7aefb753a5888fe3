-- facility_tile_cell_cascade: Takes a shown facility's car park out of the cluster pyramid before its hard delete
-- cascades to the car park: by then the car park's own trigger no longer finds the
-- facility (and whether it was shown), and the facility's statement trigger no longer
-- finds the car park. Row-level, for the rare hard delete (the application soft-deletes).
-- Called by: trigger facility.facility_tile_cell_cascade.
-- Keeps true: tile_cell, through tile_cell_apply.
-- Migrations: 0033.
-- Current text in app/db/sql, frozen copies in migrations/sql/REVISION (docs/database.md).
CREATE OR REPLACE FUNCTION public.facility_tile_cell_cascade()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
BEGIN
    PERFORM tile_cell_apply(array_agg('parking'::text), array_agg(-1), array_agg(ST_X(OLD.location)),
                            array_agg(ST_Y(OLD.location)), array_agg(u.total_spaces),
                            array_agg(u.charging_piles))
    FROM peacetime_use u WHERE u.facility_id = OLD.id AND u.type = 'parking';
    RETURN OLD;
END $function$;
