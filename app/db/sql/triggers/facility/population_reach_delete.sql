-- facility.population_reach_delete: runs population_reach_on_facility().
-- Keeps true: population_feature.shelter_m and .public_shelter_m (coverage).
-- Migrations: 0029.
-- Current text in app/db/sql, frozen copies in migrations/sql/REVISION (docs/database.md).
CREATE OR REPLACE TRIGGER population_reach_delete AFTER DELETE ON public.facility
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT
    EXECUTE FUNCTION population_reach_on_facility();
