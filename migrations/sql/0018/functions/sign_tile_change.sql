-- sign_tile_change: Compares only the columns the tile layers show.
-- Called by: triggers sign.sign_tile_change_insert, _update, _delete.
-- Keeps true: tile_change, through tile_change_note.
-- Migrations: 0007.
-- Current text in app/db/sql, frozen copies in migrations/sql/REVISION (docs/database.md).
CREATE OR REPLACE FUNCTION public.sign_tile_change()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM tile_change_note('{signage}', (
            SELECT ST_Collect(location) FROM facility
            WHERE id IN (SELECT facility_id FROM new_rows)));
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM tile_change_note('{signage}', (
            SELECT ST_Collect(location) FROM facility
            WHERE id IN (SELECT facility_id FROM old_rows)));
    ELSE
        PERFORM tile_change_note('{signage}', (
            SELECT ST_Collect(location) FROM facility
            WHERE id IN (
                SELECT unnest(ARRAY[o.facility_id, n.facility_id])
                FROM old_rows o JOIN new_rows n USING (id)
                WHERE (o.facility_id, o.status) IS DISTINCT FROM (n.facility_id, n.status))));
    END IF;
    RETURN NULL;
END $function$;
