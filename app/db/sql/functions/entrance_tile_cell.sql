-- entrance_tile_cell: Keeps the entrances layer of the cluster pyramid in step with entrance writes,
-- set-wise: an entrance not for wartime only, of a shown facility (not deleted, public),
-- counts at its own position; an update takes out the old and adds the new version of
-- the rows whose kind, position or facility changed (EXCEPT both ways). An entrance
-- removed by its facility's hard delete was taken out before (facility_tile_cell_cascade):
-- it finds no facility here.
-- Called by: triggers entrance.entrance_tile_cell_insert, _update, _delete.
-- Keeps true: tile_cell, through tile_cell_apply.
-- Migrations: 0035.
-- Current text in app/db/sql, frozen copies in migrations/sql/REVISION (docs/database.md).
CREATE OR REPLACE FUNCTION public.entrance_tile_cell()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM tile_cell_apply(array_agg('entrances'::text), array_agg(1),
                                array_agg(ST_X(n.location)), array_agg(ST_Y(n.location)),
                                NULL, NULL, NULL)
        FROM new_rows n JOIN facility f ON f.id = n.facility_id
        WHERE n.kind <> 'wartime' AND f.deleted_at IS NULL AND f.visibility = 'public';
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM tile_cell_apply(array_agg('entrances'::text), array_agg(-1),
                                array_agg(ST_X(o.location)), array_agg(ST_Y(o.location)),
                                NULL, NULL, NULL)
        FROM old_rows o JOIN facility f ON f.id = o.facility_id
        WHERE o.kind <> 'wartime' AND f.deleted_at IS NULL AND f.visibility = 'public';
    ELSE
        PERFORM tile_cell_apply(array_agg('entrances'::text), array_agg(d.sign),
                                array_agg(d.lon), array_agg(d.lat), NULL, NULL, NULL)
        FROM (
            SELECT -1 AS sign, * FROM (
                SELECT id, facility_id, ST_X(location) AS lon, ST_Y(location) AS lat
                FROM old_rows WHERE kind <> 'wartime'
                EXCEPT
                SELECT id, facility_id, ST_X(location), ST_Y(location)
                FROM new_rows WHERE kind <> 'wartime') AS left_
            UNION ALL
            SELECT 1, * FROM (
                SELECT id, facility_id, ST_X(location), ST_Y(location)
                FROM new_rows WHERE kind <> 'wartime'
                EXCEPT
                SELECT id, facility_id, ST_X(location), ST_Y(location)
                FROM old_rows WHERE kind <> 'wartime') AS came
        ) d JOIN facility f ON f.id = d.facility_id
        WHERE f.deleted_at IS NULL AND f.visibility = 'public';
    END IF;
    RETURN NULL;
END $function$;
