-- population_feature.population_reach: runs population_reach_on_feature().
-- Keeps true: population_feature.shelter_m and .public_shelter_m (coverage).
-- Migrations: 0029.
-- Current text in app/db/sql, frozen copies in migrations/sql/REVISION (docs/database.md).
CREATE OR REPLACE TRIGGER population_reach BEFORE INSERT OR UPDATE OF geom
    ON public.population_feature
    FOR EACH ROW
    EXECUTE FUNCTION population_reach_on_feature();
