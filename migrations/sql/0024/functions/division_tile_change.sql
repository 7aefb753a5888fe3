-- division_tile_change: Notes the outlines a statement changed, as they were and as they
-- are, for the divisions tileset; compares only what its tiles show.
-- Called by: triggers division.division_tile_change_insert, _update, _delete.
-- Keeps true: tile_change, through tile_change_note.
-- Migrations: 0024.
-- Current text in app/db/sql, frozen copies in migrations/sql/REVISION (docs/database.md).
CREATE OR REPLACE FUNCTION public.division_tile_change()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM tile_change_note('{divisions}', (SELECT ST_Collect(boundary) FROM new_rows));
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM tile_change_note('{divisions}', (SELECT ST_Collect(boundary) FROM old_rows));
    ELSE
        PERFORM tile_change_note('{divisions}', (
            SELECT ST_Collect(outline)
            FROM old_rows o JOIN new_rows n USING (code),
                 LATERAL (VALUES (o.boundary), (n.boundary)) AS v(outline)
            WHERE (o.name, o.level, o.valid_from, o.valid_to, o.boundary)
                IS DISTINCT FROM (n.name, n.level, n.valid_from, n.valid_to, n.boundary)));
    END IF;
    RETURN NULL;
END $function$;
