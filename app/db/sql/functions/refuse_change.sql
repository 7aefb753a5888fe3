-- refuse_change: History is evidence: rows of the append-only tables are never changed or removed by
-- the application. Deleting a facility row (never done by the API, which
-- soft-deletes) cascades to its maintenance records, so the guard lets a cascade through.
-- Called by: triggers audit_event.audit_event_append_only, maintenance_record.maintenance_record_append_only,
--   maintenance_check.maintenance_check_append_only.
-- Keeps true: audit_event, maintenance_record and maintenance_check stay append-only.
-- Migrations: 0003.
-- Current text in app/db/sql, frozen copies in migrations/sql/REVISION (docs/database.md).
CREATE OR REPLACE FUNCTION public.refuse_change()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
BEGIN
    IF TG_OP = 'DELETE' AND pg_trigger_depth() > 1 THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'restrict_violation';
END $function$;
