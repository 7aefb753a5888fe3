-- maintenance_record.maintenance_record_append_only: runs refuse_change().
-- Keeps true: append-only history: UPDATE and DELETE refused.
-- Migrations: 0003.
-- Current text in app/db/sql, frozen copies in migrations/sql/REVISION (docs/database.md).
CREATE OR REPLACE TRIGGER maintenance_record_append_only BEFORE DELETE OR UPDATE ON public.maintenance_record
    FOR EACH ROW
    EXECUTE FUNCTION refuse_change();
