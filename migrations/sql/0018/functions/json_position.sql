-- json_position: The JSON text of the position at index i of a coordsys_positions array, to seven
-- decimals (a cm). Rounding in float8, not numeric: the conversion to numeric costs
-- more than the JSON. STABLE, not IMMUTABLE: `||` on float8 is STABLE, and PostgreSQL
-- inlines no function declared stricter than its body.
-- Called by: the nearby search query (app/nearby/repository.py).
-- Keeps true: nothing stored.
-- Migrations: 0005, 0010 (STABLE).
-- Current text in app/db/sql, frozen copies in migrations/sql/REVISION (docs/database.md).
CREATE OR REPLACE FUNCTION public.json_position(p double precision[], i integer)
 RETURNS text
 LANGUAGE sql
 STABLE PARALLEL SAFE
AS $function$
    SELECT '{"lon" : ' || round(p[i] * 1e7) / 1e7 || ', "lat" : ' || round(p[i + 1] * 1e7) / 1e7
           || '}'
$function$;
