-- shelter_status_tile_change: Notes the position of each shelter whose live status changed, under the log
-- name `shelter_status`: the tile cache evicts the shelters' tiles of single features
-- there, not their cluster tiles (app/ogc/tiles/cache.py FEATURES_ONLY).
-- Called by: triggers shelter_status.shelter_status_tile_change_insert, _update, _delete.
-- Keeps true: tile_change, through tile_change_note.
-- Migrations: 0028.
-- Current text in app/db/sql, frozen copies in migrations/sql/REVISION (docs/database.md).
CREATE OR REPLACE FUNCTION public.shelter_status_tile_change()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM tile_change_note('{shelter_status}', (
            SELECT ST_Collect(f.location) FROM facility f
            WHERE f.id IN (SELECT facility_id FROM new_rows) AND f.deleted_at IS NULL));
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM tile_change_note('{shelter_status}', (
            SELECT ST_Collect(f.location) FROM facility f
            WHERE f.id IN (SELECT facility_id FROM old_rows) AND f.deleted_at IS NULL));
    ELSE
        PERFORM tile_change_note('{shelter_status}', (
            SELECT ST_Collect(f.location) FROM facility f
            WHERE f.id IN (SELECT facility_id FROM old_rows
                           UNION SELECT facility_id FROM new_rows)
              AND f.deleted_at IS NULL));
    END IF;
    RETURN NULL;
END $function$;
