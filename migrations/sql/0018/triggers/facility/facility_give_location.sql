-- facility.facility_give_location: runs facility_give_location().
-- Keeps true: peacetime_use.location, copied from the facility.
-- Migrations: 0002.
-- Current text in app/db/sql, frozen copies in migrations/sql/REVISION (docs/database.md).
CREATE OR REPLACE TRIGGER facility_give_location AFTER UPDATE OF location ON public.facility
    FOR EACH ROW
    WHEN ((old.location IS DISTINCT FROM new.location))
    EXECUTE FUNCTION facility_give_location();
