-- peacetime_use_tile_change: Compares only the columns the tile layers show, so that a parking occupancy report
-- evicts nothing.
-- Called by: triggers peacetime_use.peacetime_use_tile_change_insert, _update, _delete.
-- Keeps true: tile_change, through tile_change_note.
-- Migrations: 0007.
-- Current text in app/db/sql, frozen copies in migrations/sql/REVISION (docs/database.md).
CREATE OR REPLACE FUNCTION public.peacetime_use_tile_change()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM tile_change_note('{parking}', (
            SELECT ST_Collect(location::geometry) FROM new_rows WHERE type = 'parking'));
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM tile_change_note('{parking}', (
            SELECT ST_Collect(location::geometry) FROM old_rows WHERE type = 'parking'));
    ELSE
        PERFORM tile_change_note('{parking}', (
            SELECT ST_Collect(position::geometry)
            FROM old_rows o JOIN new_rows n USING (id),
                LATERAL (VALUES (o.location), (n.location)) p(position)
            WHERE 'parking' IN (o.type, n.type)
              AND (o.location, o.facility_id, o.type, o.name, o.total_spaces,
                   o.accessible_spaces, o.charging_piles, o.height_limit_m)
                IS DISTINCT FROM
                  (n.location, n.facility_id, n.type, n.name, n.total_spaces,
                   n.accessible_spaces, n.charging_piles, n.height_limit_m)));
    END IF;
    RETURN NULL;
END $function$;
