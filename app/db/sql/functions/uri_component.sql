-- uri_component: Text percent-encoded byte by byte, unreserved ASCII too: a URI equivalent
-- (RFC 3986, 6.2.2.2) to what app/core/navigation.py's uri_component writes, made by one
-- regexp_replace, where telling the unreserved bytes apart would take a loop. IMMUTABLE,
-- so that a stored generated column may keep it: convert_to is STABLE only because it
-- depends on the database's encoding, which never changes.
-- Called by: use_search.name_uri, a stored generated column, which the nearby search's
-- navigation links read (app/nearby/repository.py): encoded once per write, not once
-- per place in every answer, where the regexp was half of the search's time.
-- Keeps true: use_search.name_uri.
-- Migrations: 0032.
-- Current text in app/db/sql, frozen copies in migrations/sql/REVISION (docs/database.md).
CREATE OR REPLACE FUNCTION public.uri_component(t text)
 RETURNS text
 LANGUAGE sql
 IMMUTABLE PARALLEL SAFE
AS $function$
    SELECT regexp_replace(upper(encode(convert_to(t, 'UTF8'), 'hex')), '(..)', '%\1', 'g')
$function$;
