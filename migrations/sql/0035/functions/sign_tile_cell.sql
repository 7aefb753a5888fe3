-- sign_tile_cell: Keeps the signage layer of the cluster pyramid in step with sign writes, set-wise: a
-- shown facility (not deleted, public) counts once at its position with its signs
-- installed, damaged and missing, so a sign that came (+1) into or left (-1) one of those
-- statuses, on its facility, is passed as the facility put back with the sign's status
-- and taken out with none: tile_cell_apply nets the pair per position, so the cell's
-- count and position sums stay exactly as they were and only a sum moves. An update
-- passes the rows whose status or facility changed (EXCEPT both ways), so that an
-- inspection date costs nothing. A sign removed by its facility's hard delete was taken
-- out before (facility_tile_cell_cascade): it finds no facility here.
-- Called by: triggers sign.sign_tile_cell_insert, _update, _delete.
-- Keeps true: tile_cell, through tile_cell_apply.
-- Migrations: 0035.
-- Current text in app/db/sql, frozen copies in migrations/sql/REVISION (docs/database.md).
CREATE OR REPLACE FUNCTION public.sign_tile_cell()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
DECLARE
    facility_ids bigint[];
    signs integer[];
    statuses text[];
BEGIN
    IF TG_OP = 'INSERT' THEN
        SELECT array_agg(facility_id), array_agg(1), array_agg(status)
        INTO facility_ids, signs, statuses
        FROM new_rows WHERE status IN ('installed', 'damaged', 'missing');
    ELSIF TG_OP = 'DELETE' THEN
        SELECT array_agg(facility_id), array_agg(-1), array_agg(status)
        INTO facility_ids, signs, statuses
        FROM old_rows WHERE status IN ('installed', 'damaged', 'missing');
    ELSE
        SELECT array_agg(d.facility_id), array_agg(d.sign), array_agg(d.status)
        INTO facility_ids, signs, statuses
        FROM (
            SELECT -1 AS sign, * FROM (
                SELECT id, facility_id, status FROM old_rows
                EXCEPT
                SELECT id, facility_id, status FROM new_rows) AS left_
            UNION ALL
            SELECT 1, * FROM (
                SELECT id, facility_id, status FROM new_rows
                EXCEPT
                SELECT id, facility_id, status FROM old_rows) AS came
        ) d
        WHERE d.status IN ('installed', 'damaged', 'missing');
    END IF;
    PERFORM tile_cell_apply(array_agg('signage'::text), array_agg(k.sign),
                            array_agg(ST_X(f.location)), array_agg(ST_Y(f.location)),
                            array_agg(k.installed), array_agg(k.damaged), array_agg(k.missing))
    FROM unnest(facility_ids, signs, statuses) AS c(facility_id, sign, status)
    JOIN facility f ON f.id = c.facility_id
    CROSS JOIN LATERAL (
        VALUES (c.sign, (c.status = 'installed')::integer, (c.status = 'damaged')::integer,
                (c.status = 'missing')::integer),
               (-c.sign, 0, 0, 0)) AS k(sign, installed, damaged, missing)
    WHERE f.deleted_at IS NULL AND f.visibility = 'public';
    RETURN NULL;
END $function$;
