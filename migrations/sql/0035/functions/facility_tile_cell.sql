-- facility_tile_cell: Keeps the cluster pyramid in step with facility writes, set-wise: inserted shown
-- facilities are added, deleted ones taken out; an update takes out the old and adds the
-- new version of the rows whose part in a layer changed (shown or not, position,
-- status, capacity), found by EXCEPT both ways (a join of the two transition tables is
-- planned as a nested loop), and the entrances of the works it showed or hid. A new
-- work has no entrance yet (one written in the same statement counts itself,
-- entrance_tile_cell). A hard delete's car parks, signage and entrances are taken out
-- before the cascade removes them (facility_tile_cell_cascade).
-- Called by: triggers facility.facility_tile_cell_insert, _update, _delete.
-- Keeps true: tile_cell, through tile_cell_facility_layers and tile_cell_apply.
-- Migrations: 0033, 0035.
-- Current text in app/db/sql, frozen copies in migrations/sql/REVISION (docs/database.md).
CREATE OR REPLACE FUNCTION public.facility_tile_cell()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM tile_cell_apply(array_agg(l.layer), array_agg(1), array_agg(ST_X(n.location)),
                                array_agg(ST_Y(n.location)), array_agg(l.sum_1),
                                array_agg(l.sum_2), array_agg(l.sum_3))
        FROM new_rows n, tile_cell_facility_layers(n.id, n.status, n.capacity_persons) l
        WHERE n.deleted_at IS NULL AND n.visibility = 'public';
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM tile_cell_apply(array_agg(l.layer), array_agg(-1), array_agg(ST_X(o.location)),
                                array_agg(ST_Y(o.location)), array_agg(l.sum_1),
                                array_agg(l.sum_2), array_agg(l.sum_3))
        FROM old_rows o, tile_cell_facility_layers(o.id, o.status, o.capacity_persons) l
        WHERE o.deleted_at IS NULL AND o.visibility = 'public';
    ELSE
        PERFORM tile_cell_apply(array_agg(e.layer), array_agg(e.sign), array_agg(e.lon),
                                array_agg(e.lat), array_agg(e.sum_1), array_agg(e.sum_2),
                                array_agg(e.sum_3))
        FROM (
            WITH left_ AS (
                SELECT id, ST_X(location) AS lon, ST_Y(location) AS lat, status::text,
                       capacity_persons
                FROM old_rows WHERE deleted_at IS NULL AND visibility = 'public'
                EXCEPT
                SELECT id, ST_X(location), ST_Y(location), status::text, capacity_persons
                FROM new_rows WHERE deleted_at IS NULL AND visibility = 'public'
            ), came AS (
                SELECT id, ST_X(location) AS lon, ST_Y(location) AS lat, status::text,
                       capacity_persons
                FROM new_rows WHERE deleted_at IS NULL AND visibility = 'public'
                EXCEPT
                SELECT id, ST_X(location), ST_Y(location), status::text, capacity_persons
                FROM old_rows WHERE deleted_at IS NULL AND visibility = 'public'
            ), changed AS (
                SELECT -1 AS sign, * FROM left_
                UNION ALL
                SELECT 1, * FROM came
            ), shown_or_hidden AS (
                SELECT -1 AS sign, id FROM left_ WHERE id NOT IN (SELECT id FROM came)
                UNION ALL
                SELECT 1, id FROM came WHERE id NOT IN (SELECT id FROM left_)
            )
            SELECT l.layer, d.sign, d.lon, d.lat, l.sum_1, l.sum_2, l.sum_3
            FROM changed d, tile_cell_facility_layers(d.id, d.status, d.capacity_persons) l
            UNION ALL
            SELECT 'entrances', w.sign, ST_X(n.location), ST_Y(n.location), NULL, NULL, NULL
            FROM shown_or_hidden w JOIN entrance n ON n.facility_id = w.id
            WHERE n.kind <> 'wartime'
        ) e;
    END IF;
    RETURN NULL;
END $function$;
