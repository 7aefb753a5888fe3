-- facility_tile_change: Compares only the columns the tile layers show (app/ogc/tiles/layers.py), so that
-- a keyholder's new phone number evicts nothing; many inserted or deleted rows are
-- passed as their extent.
-- Called by: triggers facility.facility_tile_change_insert, _update, _delete.
-- Keeps true: tile_change, through tile_change_note.
-- Migrations: 0007, 0013 (extent of many), 0017 (visibility).
-- Current text in app/db/sql, frozen copies in migrations/sql/REVISION (docs/database.md).
CREATE OR REPLACE FUNCTION public.facility_tile_change()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
DECLARE
    shown CONSTANT text[] := '{facilities,shelters,parking,signage}';
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM tile_change_note(shown, (
            SELECT CASE WHEN count(*) <= 1000
                        THEN (SELECT ST_Collect(location) FROM new_rows WHERE deleted_at IS NULL)
                        ELSE CAST(ST_Extent(location) AS geometry) END
            FROM new_rows WHERE deleted_at IS NULL));
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM tile_change_note(shown, (
            SELECT CASE WHEN count(*) <= 1000
                        THEN (SELECT ST_Collect(location) FROM old_rows WHERE deleted_at IS NULL)
                        ELSE CAST(ST_Extent(location) AS geometry) END
            FROM old_rows WHERE deleted_at IS NULL));
    ELSE
        -- the old and the new position: a move changes the tiles at both
        PERFORM tile_change_note(shown, (
            SELECT ST_Collect(position)
            FROM old_rows o JOIN new_rows n USING (id),
                LATERAL (VALUES (o.location), (n.location)) p(position)
            WHERE (o.location, o.code, o.name, o.status, o.construction_form,
                   o.wartime_function, o.wartime_subtype, o.capacity_persons, o.deleted_at, o.visibility)
                IS DISTINCT FROM
                  (n.location, n.code, n.name, n.status, n.construction_form,
                   n.wartime_function, n.wartime_subtype, n.capacity_persons, n.deleted_at, n.visibility)
              AND (o.deleted_at IS NULL OR n.deleted_at IS NULL)));
        -- deleting a facility takes its entrances off the map
        PERFORM tile_change_note('{entrances}', (
            SELECT ST_Collect(e.location)
            FROM old_rows o JOIN new_rows n USING (id) JOIN entrance e ON e.facility_id = n.id
            WHERE (o.deleted_at IS NULL) <> (n.deleted_at IS NULL)
               OR o.visibility <> n.visibility));
    END IF;
    RETURN NULL;
END $function$;
