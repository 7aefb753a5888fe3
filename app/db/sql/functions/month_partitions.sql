-- month_partitions: creates the monthly partitions of `parent` (partitioned by range of a
-- timestamptz, months in UTC), named PARENT_yYYYYmMM, from the current month to `ahead`
-- months on; returns how many it made. Idempotent, and safe from several processes at
-- once: a partition another made meanwhile, or a month the pre-partitioning history
-- partition still covers, is skipped. Rows of a month left without its partition wait in
-- PARENT_default, where its creation then refuses to go (a warning says so).
-- Called by: the API's partition keeper (app.db.partitions), migrations 0019 and 0025.
-- Keeps true: parking_occupancy, audit_event and shelter_status have a partition for each
-- coming month.
-- Migrations: 0019.
-- Current text in app/db/sql, frozen copies in migrations/sql/REVISION (docs/database.md).
CREATE OR REPLACE FUNCTION public.month_partitions(parent regclass, ahead integer)
 RETURNS integer
 LANGUAGE plpgsql
AS $function$
DECLARE
    first date := date_trunc('month', now() AT TIME ZONE 'UTC')::date;
    month date;
    name text;
    made integer := 0;
BEGIN
    FOR i IN 0..ahead LOOP
        month := first + make_interval(months => i);
        name := format('%s_y%sm%s', parent, to_char(month, 'YYYY'), to_char(month, 'MM'));
        CONTINUE WHEN to_regclass(name) IS NOT NULL;
        -- A month another partition covers (the history one) needs no DDL, nor its lock.
        CONTINUE WHEN EXISTS (
            SELECT FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid,
                 LATERAL (SELECT pg_get_expr(c.relpartbound, c.oid) AS bound) b
            WHERE i.inhparent = parent
              AND substring(b.bound FROM 'TO \(''([^'']+)''\)')::timestamptz
                  > (month || ' 00:00+00')::timestamptz
              AND coalesce(substring(b.bound FROM 'FROM \(''([^'']+)''\)')::timestamptz,
                           '-infinity') <= (month || ' 00:00+00')::timestamptz);
        BEGIN
            EXECUTE format(
                'CREATE TABLE %I PARTITION OF %s FOR VALUES FROM (%L) TO (%L)',
                name, parent, month || ' 00:00+00', (month + interval '1 month')::date || ' 00:00+00');
            made := made + 1;
        EXCEPTION
            WHEN duplicate_table OR invalid_object_definition THEN
                NULL;  -- made meanwhile, or still inside the history partition
            WHEN check_violation THEN
                RAISE WARNING '% keeps rows of % in its default partition', parent, month;
        END;
    END LOOP;
    RETURN made;
END $function$;
