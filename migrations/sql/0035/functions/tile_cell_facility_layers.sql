-- tile_cell_facility_layers: The clustered layers a shown facility (not deleted, public) counts in at its
-- position, with the values each sums: facilities (capacity), shelters (capacity, unless
-- decommissioned), parking (its car park's total spaces and charging piles, when it has
-- one), signage (its signs installed, damaged and missing, while the facility row exists:
-- a hard delete's cascade has removed its signs by the time the statement trigger runs,
-- so that facility_tile_cell_cascade takes the entry out before). The same rules as the
-- layers' sources in app/ogc/tiles/layers.py; tests/tiles/test_cells.py holds the
-- pyramid to tiles drawn from those. Entrances count at their own positions
-- (entrance_tile_cell).
-- Called by: facility_tile_cell, facility_tile_cell_cascade.
-- Keeps true: tile_cell.
-- Migrations: 0033, 0035.
-- Current text in app/db/sql, frozen copies in migrations/sql/REVISION (docs/database.md).
CREATE OR REPLACE FUNCTION public.tile_cell_facility_layers(facility_id bigint, status text, capacity integer)
 RETURNS TABLE(layer text, sum_1 integer, sum_2 integer, sum_3 integer)
 LANGUAGE sql
 STABLE
AS $function$
    SELECT 'facilities', capacity, NULL::integer, NULL::integer
    UNION ALL
    SELECT 'shelters', capacity, NULL, NULL WHERE status <> 'decommissioned'
    UNION ALL
    SELECT 'parking', u.total_spaces, u.charging_piles, NULL
    FROM peacetime_use u WHERE u.facility_id = tile_cell_facility_layers.facility_id
                           AND u.type = 'parking'
    UNION ALL
    SELECT 'signage', s.installed, s.damaged, s.missing
    FROM facility f CROSS JOIN LATERAL (
        SELECT count(*) FILTER (WHERE g.status = 'installed')::integer AS installed,
               count(*) FILTER (WHERE g.status = 'damaged')::integer AS damaged,
               count(*) FILTER (WHERE g.status = 'missing')::integer AS missing
        FROM sign g WHERE g.facility_id = f.id) AS s
    WHERE f.id = tile_cell_facility_layers.facility_id
$function$;
