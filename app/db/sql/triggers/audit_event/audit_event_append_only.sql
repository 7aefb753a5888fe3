-- audit_event.audit_event_append_only: runs refuse_change().
-- Keeps true: append-only history: UPDATE and DELETE refused.
-- Migrations: 0003, 0019 (on the partitioned table).
-- Current text in app/db/sql, frozen copies in migrations/sql/REVISION (docs/database.md).
CREATE OR REPLACE TRIGGER audit_event_append_only BEFORE DELETE OR UPDATE ON public.audit_event
    FOR EACH ROW
    EXECUTE FUNCTION refuse_change();
