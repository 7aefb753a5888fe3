-- tile_cell_facility_layers: The clustered layers a shown facility (not deleted, public) counts in, with the
-- values each sums: facilities (capacity), shelters (capacity, unless decommissioned),
-- parking (its car park's total spaces and charging piles, when it has one). The same
-- rules as the layers' sources in app/ogc/tiles/layers.py; tests/tiles/test_cells.py
-- holds the pyramid to tiles drawn from those.
-- Called by: facility_tile_cell.
-- Keeps true: tile_cell.
-- Migrations: 0033.
-- Current text in app/db/sql, frozen copies in migrations/sql/REVISION (docs/database.md).
CREATE OR REPLACE FUNCTION public.tile_cell_facility_layers(facility_id bigint, status text, capacity integer)
 RETURNS TABLE(layer text, sum_1 integer, sum_2 integer)
 LANGUAGE sql
 STABLE
AS $function$
    SELECT 'facilities', capacity, NULL::integer
    UNION ALL
    SELECT 'shelters', capacity, NULL WHERE status <> 'decommissioned'
    UNION ALL
    SELECT 'parking', u.total_spaces, u.charging_piles
    FROM peacetime_use u WHERE u.facility_id = tile_cell_facility_layers.facility_id
                           AND u.type = 'parking'
$function$;
