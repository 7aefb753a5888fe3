-- facility_tile_cell_cascade: Takes a shown facility's car park, signage and entrances out of the cluster pyramid
-- before its hard delete cascades to them: by then their own triggers no longer find the
-- facility (and whether it was shown), and the facility's statement trigger no longer
-- finds them. Row-level, for the rare hard delete (the application soft-deletes).
-- Called by: trigger facility.facility_tile_cell_cascade.
-- Keeps true: tile_cell, through tile_cell_facility_layers and tile_cell_apply.
-- Migrations: 0033, 0035.
-- Current text in app/db/sql, frozen copies in migrations/sql/REVISION (docs/database.md).
CREATE OR REPLACE FUNCTION public.facility_tile_cell_cascade()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
BEGIN
    PERFORM tile_cell_apply(array_agg(d.layer), array_agg(-1), array_agg(d.lon),
                            array_agg(d.lat), array_agg(d.sum_1), array_agg(d.sum_2),
                            array_agg(d.sum_3))
    FROM (
        SELECT l.layer, ST_X(OLD.location) AS lon, ST_Y(OLD.location) AS lat,
               l.sum_1, l.sum_2, l.sum_3
        FROM tile_cell_facility_layers(OLD.id, OLD.status, OLD.capacity_persons) l
        WHERE l.layer IN ('parking', 'signage')
        UNION ALL
        SELECT 'entrances', ST_X(n.location), ST_Y(n.location), NULL, NULL, NULL
        FROM entrance n WHERE n.facility_id = OLD.id AND n.kind <> 'wartime'
    ) d;
    RETURN OLD;
END $function$;
