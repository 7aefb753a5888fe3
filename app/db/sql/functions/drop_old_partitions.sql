-- drop_old_partitions: drops the partitions of `parent` whose every row is older than the
-- start of the month `keep_months` before the current one (UTC): its retention. The
-- default partition is never dropped. Returns how many it dropped.
-- Called by: the API's partition keeper (app.db.partitions) for parking_occupancy, when
--   RF_OCCUPANCY_RETENTION_MONTHS is set, and for shelter_status, when
--   RF_SHELTER_STATUS_RETENTION_MONTHS is.
-- Keeps true: occupancy and shelter status history older than its retention is gone, a
--   month at a time.
-- Migrations: 0019.
-- Current text in app/db/sql, frozen copies in migrations/sql/REVISION (docs/database.md).
CREATE OR REPLACE FUNCTION public.drop_old_partitions(parent regclass, keep_months integer)
 RETURNS integer
 LANGUAGE plpgsql
AS $function$
DECLARE
    cutoff timestamptz := (date_trunc('month', now() AT TIME ZONE 'UTC')
                           - make_interval(months => keep_months)) AT TIME ZONE 'UTC';
    part record;
    dropped integer := 0;
BEGIN
    FOR part IN
        SELECT c.oid::regclass AS rel,
               substring(pg_get_expr(c.relpartbound, c.oid) FROM 'TO \(''([^'']+)''\)') AS upper
        FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = parent
    LOOP
        IF part.upper IS NOT NULL AND part.upper::timestamptz <= cutoff THEN
            EXECUTE format('DROP TABLE %s', part.rel);
            dropped := dropped + 1;
        END IF;
    END LOOP;
    RETURN dropped;
END $function$;
