-- use_search_doc: An answer's static JSON for a use.
-- Called by: use_search_refresh.
-- Keeps true: use_search.doc.
-- Migrations: 0005.
-- Current text in app/db/sql, frozen copies in migrations/sql/REVISION (docs/database.md).
CREATE OR REPLACE FUNCTION public.use_search_doc(u peacetime_use, f facility)
 RETURNS text
 LANGUAGE sql
 STABLE PARALLEL SAFE
AS $function$
    SELECT json_build_object(
        'use_id', u.id, 'facility_id', u.facility_id, 'type', u.type,
        'name', coalesce(u.name, f.name), 'address', f.address,
        'opening_hours', u.opening_hours, 'fee', u.fee,
        'contact_phone', u.contact_phone, 'attributes', u.attributes,
        'parking', CASE WHEN u.type = 'parking' THEN json_build_object(
            'total_spaces', u.total_spaces, 'accessible_spaces', u.accessible_spaces,
            'ev_spaces', u.ev_spaces, 'charging_piles', u.charging_piles,
            'charging_max_kw', u.charging_max_kw, 'height_limit_m', u.height_limit_m) END
    )::text
$function$;
