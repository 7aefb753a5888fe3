"""Nearby search documents: one row per peacetime use that a search may return, with what
the answer shows already written as JSON in each coordinate system, kept current by triggers.

A search is then one KNN scan of this table: no join to facilities, no entrance lookups and
no coordinate shifts per request. Only what depends on the query point (distances, the
nearest entrance) or on the clock (freshness of live figures, open now) is left to the query.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28 20:10:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UPGRADE = """
CREATE TABLE use_search (
    use_id bigint PRIMARY KEY REFERENCES peacetime_use (id) ON DELETE CASCADE,
    facility_id bigint NOT NULL,
    type varchar(32) NOT NULL,
    location geography(Point, 4326) NOT NULL,
    name text NOT NULL,
    opening_hours text,
    charging_piles integer,
    accessible_spaces integer,
    height_limit_m numeric,
    accessible_entrance boolean NOT NULL,
    realtime_free_spaces integer,
    realtime_free_charging_piles integer,
    realtime_opening_status varchar(32),
    realtime_observed_at timestamptz,
    -- The item's static JSON, without positions; the query adds them in the caller's system.
    doc text NOT NULL,
    -- The facility's position in WGS 84, GCJ-02 and BD-09: six numbers.
    at float8[] NOT NULL,
    -- The entrances a visitor would use (for a car park the ramps, else walkways; sealed
    -- wartime openings only when nothing else exists), the nearest chosen per query:
    -- their points, their JSON without positions, and six numbers each like `at`.
    entrance_points geometry(MultiPoint, 4326),
    entrance_docs text[],
    entrance_at float8[]
);
CREATE INDEX ix_use_search_location ON use_search USING gist (location);
CREATE INDEX ix_use_search_facility_id ON use_search (facility_id);

-- A WGS 84 position in the three systems an answer may use: wgs84, gcj02, bd09 (6 numbers).
-- PL/pgSQL, to compute the GCJ-02 shift once: the inlined SQL functions evaluate it cheaply.
CREATE FUNCTION coordsys_positions(lon float8, lat float8) RETURNS float8[]
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    gcj float8[] := wgs84_to_gcj02(lon, lat);
BEGIN
    RETURN ARRAY[lon, lat] || gcj || CASE WHEN gcj02_applies(lon, lat)
        THEN gcj02_to_bd09(gcj[1], gcj[2]) ELSE ARRAY[lon, lat] END;
END $$;

-- The JSON text of the position at index i of such an array, to seven decimals (a cm).
-- Rounding in float8, not numeric: the conversion to numeric costs more than the JSON.
CREATE FUNCTION json_position(p float8[], i int) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT '{"lon" : ' || round(p[i] * 1e7) / 1e7 || ', "lat" : ' || round(p[i + 1] * 1e7) / 1e7
           || '}'
$$;

-- An answer's static JSON for a use.
CREATE FUNCTION use_search_doc(u peacetime_use, f facility) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $$
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
$$;

-- Rewrites the search rows of these facilities from the registry.
CREATE FUNCTION use_search_refresh(facility_ids bigint[]) RETURNS void
LANGUAGE sql AS $$
    DELETE FROM use_search s WHERE s.facility_id = ANY (facility_ids) AND NOT EXISTS (
        SELECT FROM peacetime_use u JOIN facility f ON f.id = u.facility_id
        WHERE u.id = s.use_id AND u.facility_id = s.facility_id
          AND f.deleted_at IS NULL AND f.status = 'in_service');
    INSERT INTO use_search
    SELECT u.id, u.facility_id, u.type, u.location, coalesce(u.name, f.name), u.opening_hours,
           u.charging_piles, u.accessible_spaces, u.height_limit_m,
           EXISTS (SELECT FROM entrance a WHERE a.facility_id = f.id AND a.accessible),
           u.realtime_free_spaces, u.realtime_free_charging_piles,
           u.realtime_opening_status, u.realtime_observed_at,
           use_search_doc(u, f), coordsys_positions(ST_X(f.location), ST_Y(f.location)),
           e.points, e.docs, e.at
    FROM peacetime_use u
    JOIN facility f ON f.id = u.facility_id
    LEFT JOIN LATERAL (
        SELECT ST_Collect(a.location ORDER BY a.id) AS points,
               array_agg(json_build_object('id', a.id, 'kind', a.kind,
                                           'accessible', a.accessible, 'name', a.name)::text
                         ORDER BY a.id) AS docs,
               ARRAY(SELECT unnest(array_agg(
                   coordsys_positions(ST_X(a.location), ST_Y(a.location)) ORDER BY a.id))) AS at
        FROM (
            SELECT e.*, rank() OVER (ORDER BY CASE e.kind
                       WHEN CASE WHEN u.type = 'parking' THEN 'vehicle' ELSE 'pedestrian' END
                           THEN 0 WHEN 'wartime' THEN 2 ELSE 1 END) AS tier
            FROM entrance e
            WHERE e.facility_id = f.id
        ) AS a
        WHERE a.tier = 1
    ) AS e ON true
    WHERE f.id = ANY (facility_ids) AND f.deleted_at IS NULL AND f.status = 'in_service'
    ON CONFLICT (use_id) DO UPDATE SET (
        facility_id, type, location, name, opening_hours, charging_piles, accessible_spaces,
        height_limit_m, accessible_entrance, realtime_free_spaces, realtime_free_charging_piles,
        realtime_opening_status, realtime_observed_at, doc, at,
        entrance_points, entrance_docs, entrance_at
    ) = (
        EXCLUDED.facility_id, EXCLUDED.type, EXCLUDED.location, EXCLUDED.name,
        EXCLUDED.opening_hours, EXCLUDED.charging_piles, EXCLUDED.accessible_spaces,
        EXCLUDED.height_limit_m, EXCLUDED.accessible_entrance, EXCLUDED.realtime_free_spaces,
        EXCLUDED.realtime_free_charging_piles, EXCLUDED.realtime_opening_status,
        EXCLUDED.realtime_observed_at, EXCLUDED.doc, EXCLUDED.at,
        EXCLUDED.entrance_points, EXCLUDED.entrance_docs, EXCLUDED.entrance_at
    );
$$;

-- Statement-level triggers: a bulk load refreshes once per statement, not once per row.
CREATE FUNCTION use_search_on_facility() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM use_search_refresh(ARRAY(
        SELECT n.id FROM new_rows n JOIN old_rows o USING (id)
        WHERE (n.name, n.address, n.status, n.deleted_at, n.location)
              IS DISTINCT FROM (o.name, o.address, o.status, o.deleted_at, o.location)));
    RETURN NULL;
END $$;
CREATE TRIGGER use_search_on_facility AFTER UPDATE ON facility
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION use_search_on_facility();

CREATE FUNCTION use_search_on_new_rows() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM use_search_refresh(ARRAY(SELECT DISTINCT facility_id FROM new_rows));
    RETURN NULL;
END $$;
CREATE FUNCTION use_search_on_old_rows() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM use_search_refresh(ARRAY(SELECT DISTINCT facility_id FROM old_rows));
    RETURN NULL;
END $$;
CREATE FUNCTION use_search_on_changed_rows() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM use_search_refresh(ARRAY(
        SELECT facility_id FROM new_rows UNION SELECT facility_id FROM old_rows));
    RETURN NULL;
END $$;
CREATE TRIGGER use_search_on_entrance_insert AFTER INSERT ON entrance
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION use_search_on_new_rows();
CREATE TRIGGER use_search_on_entrance_update AFTER UPDATE ON entrance
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION use_search_on_changed_rows();
CREATE TRIGGER use_search_on_entrance_delete AFTER DELETE ON entrance
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION use_search_on_old_rows();
CREATE TRIGGER use_search_on_use_insert AFTER INSERT ON peacetime_use
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION use_search_on_new_rows();

-- Live figures are copied as they come (gate systems push every minute or so); anything
-- else about a use rewrites its documents.
CREATE FUNCTION use_search_on_use_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE use_search s
    SET realtime_free_spaces = n.realtime_free_spaces,
        realtime_free_charging_piles = n.realtime_free_charging_piles,
        realtime_opening_status = n.realtime_opening_status,
        realtime_observed_at = n.realtime_observed_at
    FROM new_rows n JOIN old_rows o USING (id)
    WHERE s.use_id = n.id
      AND (n.realtime_free_spaces, n.realtime_free_charging_piles,
           n.realtime_opening_status, n.realtime_observed_at)
          IS DISTINCT FROM (o.realtime_free_spaces, o.realtime_free_charging_piles,
                            o.realtime_opening_status, o.realtime_observed_at);
    PERFORM use_search_refresh(ARRAY(
        SELECT unnest(ARRAY[n.facility_id, o.facility_id])
        FROM new_rows n JOIN old_rows o USING (id)
        WHERE (n.facility_id, n.type, n.name, n.opening_hours, n.fee, n.contact_phone,
               n.attributes, n.location)
              IS DISTINCT FROM (o.facility_id, o.type, o.name, o.opening_hours, o.fee,
                                o.contact_phone, o.attributes, o.location)));
    RETURN NULL;
END $$;
CREATE TRIGGER use_search_on_use_update AFTER UPDATE ON peacetime_use
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION use_search_on_use_update();

SELECT use_search_refresh(ARRAY(SELECT DISTINCT facility_id FROM peacetime_use));
"""

DOWNGRADE = """
DROP TRIGGER use_search_on_use_update ON peacetime_use;
DROP TRIGGER use_search_on_use_insert ON peacetime_use;
DROP TRIGGER use_search_on_entrance_delete ON entrance;
DROP TRIGGER use_search_on_entrance_update ON entrance;
DROP TRIGGER use_search_on_entrance_insert ON entrance;
DROP TRIGGER use_search_on_facility ON facility;
DROP FUNCTION use_search_on_use_update();
DROP FUNCTION use_search_on_changed_rows();
DROP FUNCTION use_search_on_old_rows();
DROP FUNCTION use_search_on_new_rows();
DROP FUNCTION use_search_on_facility();
DROP FUNCTION use_search_refresh(bigint[]);
DROP FUNCTION use_search_doc(peacetime_use, facility);
DROP FUNCTION json_position(float8[], int);
DROP FUNCTION coordsys_positions(float8, float8);
DROP TABLE use_search;
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
