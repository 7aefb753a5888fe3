-- peacetime_use.peacetime_use_take_location: runs peacetime_use_take_location().
-- Keeps true: peacetime_use.location, copied from the facility.
-- Migrations: 0002.
-- Current text in app/db/sql, frozen copies in migrations/sql/REVISION (docs/database.md).
CREATE OR REPLACE TRIGGER peacetime_use_take_location BEFORE INSERT OR UPDATE OF facility_id ON public.peacetime_use
    FOR EACH ROW
    EXECUTE FUNCTION peacetime_use_take_location();
