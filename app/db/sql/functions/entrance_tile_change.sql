-- entrance_tile_change: Compares only the columns the tile layers show; many inserted or deleted rows are
-- passed as their extent.
-- Called by: triggers entrance.entrance_tile_change_insert, _update, _delete.
-- Keeps true: tile_change, through tile_change_note.
-- Migrations: 0007, 0013 (extent of many).
-- Current text in app/db/sql, frozen copies in migrations/sql/REVISION (docs/database.md).
CREATE OR REPLACE FUNCTION public.entrance_tile_change()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM tile_change_note('{entrances}', (
            SELECT CASE WHEN count(*) <= 1000
                        THEN (SELECT ST_Collect(location) FROM new_rows )
                        ELSE CAST(ST_Extent(location) AS geometry) END
            FROM new_rows ));
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM tile_change_note('{entrances}', (
            SELECT CASE WHEN count(*) <= 1000
                        THEN (SELECT ST_Collect(location) FROM old_rows )
                        ELSE CAST(ST_Extent(location) AS geometry) END
            FROM old_rows ));
    ELSE
        PERFORM tile_change_note('{entrances}', (
            SELECT ST_Collect(position)
            FROM old_rows o JOIN new_rows n USING (id),
                LATERAL (VALUES (o.location), (n.location)) p(position)
            WHERE (o.location, o.facility_id, o.kind, o.accessible, o.name)
                IS DISTINCT FROM (n.location, n.facility_id, n.kind, n.accessible, n.name)));
    END IF;
    RETURN NULL;
END $function$;
