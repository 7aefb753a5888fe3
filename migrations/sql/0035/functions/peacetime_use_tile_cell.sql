-- peacetime_use_tile_cell: Keeps the parking layer of the cluster pyramid in step with car park writes, set-wise:
-- a car park of a shown facility (not deleted, public) counts at the facility's
-- position; an update takes out the old and adds the new version of the rows whose
-- type, facility or summed values changed (EXCEPT both ways), so that an occupancy
-- report costs nothing. A car park removed by its facility's hard delete was taken out
-- before (facility_tile_cell_cascade): it finds no facility here.
-- Called by: triggers peacetime_use.peacetime_use_tile_cell_insert, _update, _delete.
-- Keeps true: tile_cell, through tile_cell_apply.
-- Migrations: 0033, 0035.
-- Current text in app/db/sql, frozen copies in migrations/sql/REVISION (docs/database.md).
CREATE OR REPLACE FUNCTION public.peacetime_use_tile_cell()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM tile_cell_apply(array_agg('parking'::text), array_agg(1), array_agg(ST_X(f.location)),
                                array_agg(ST_Y(f.location)), array_agg(n.total_spaces),
                                array_agg(n.charging_piles), NULL)
        FROM new_rows n JOIN facility f ON f.id = n.facility_id
        WHERE n.type = 'parking' AND f.deleted_at IS NULL AND f.visibility = 'public';
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM tile_cell_apply(array_agg('parking'::text), array_agg(-1), array_agg(ST_X(f.location)),
                                array_agg(ST_Y(f.location)), array_agg(o.total_spaces),
                                array_agg(o.charging_piles), NULL)
        FROM old_rows o JOIN facility f ON f.id = o.facility_id
        WHERE o.type = 'parking' AND f.deleted_at IS NULL AND f.visibility = 'public';
    ELSE
        PERFORM tile_cell_apply(array_agg('parking'::text), array_agg(d.sign), array_agg(ST_X(f.location)),
                                array_agg(ST_Y(f.location)), array_agg(d.total_spaces),
                                array_agg(d.charging_piles), NULL)
        FROM (
            SELECT -1 AS sign, * FROM (
                SELECT id, facility_id, total_spaces, charging_piles
                FROM old_rows WHERE type = 'parking'
                EXCEPT
                SELECT id, facility_id, total_spaces, charging_piles
                FROM new_rows WHERE type = 'parking') AS left_
            UNION ALL
            SELECT 1, * FROM (
                SELECT id, facility_id, total_spaces, charging_piles
                FROM new_rows WHERE type = 'parking'
                EXCEPT
                SELECT id, facility_id, total_spaces, charging_piles
                FROM old_rows WHERE type = 'parking') AS came
        ) d JOIN facility f ON f.id = d.facility_id
        WHERE f.deleted_at IS NULL AND f.visibility = 'public';
    END IF;
    RETURN NULL;
END $function$;
