"""Nearby search: one KNN scan of the GiST index on use locations, the answer's items built
as JSON by PostgreSQL in the caller's coordinate system (see the SQL functions of
migration 0002)."""

from dataclasses import dataclass

from sqlalchemy import Row, text
from sqlalchemy.orm import Session

from app.core.geo import CoordSys
from app.uses.models import UseType

POINT = "ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)::geography"

# Filters are fixed SQL fragments chosen by flag; every value in them is a bound parameter.
FILTERS = {
    # Piles exist, and a fresh report does not say they are all taken.
    "ev": "u.charging_piles > 0 AND NOT coalesce({fresh} AND u.realtime_free_charging_piles = 0, false)",
    "min_free": "{fresh} AND u.realtime_free_spaces >= :min_free",
    "accessible_spaces": "u.accessible_spaces > 0",
    "accessible_entrance": "EXISTS (SELECT FROM entrance a WHERE a.facility_id = u.facility_id AND a.accessible)",
    # An unknown height limit is no promise that a tall vehicle fits.
    "vehicle_height": "u.height_limit_m >= :vehicle_height",
}
FRESH = "u.realtime_observed_at > now() - make_interval(secs => :stale_after_s)"

SEARCH = f"""
-- MATERIALIZED and OFFSET 0 keep the planner from flattening these steps: the inlined
-- coordinate functions would then recompute their arguments at every reference.
WITH candidates AS MATERIALIZED (
    SELECT u.id, u.facility_id, u.type, coalesce(u.name, f.name) AS name, f.address,
           u.opening_hours, u.fee, u.contact_phone, u.attributes,
           u.total_spaces, u.accessible_spaces, u.ev_spaces, u.charging_piles,
           u.charging_max_kw, u.height_limit_m,
           u.realtime_free_spaces, u.realtime_free_charging_piles,
           u.realtime_opening_status, u.realtime_observed_at, {FRESH} AS fresh,
           ST_Distance(u.location, {POINT}) AS distance,
           ST_X(f.location) AS lon, ST_Y(f.location) AS lat
    FROM peacetime_use u
    JOIN facility f ON f.id = u.facility_id
    WHERE u.type = :use_type AND ST_DWithin(u.location, {POINT}, :radius)
      AND f.deleted_at IS NULL AND f.status = 'in_service' {{filters}}
    ORDER BY u.location <-> {POINT}
    LIMIT :limit OFFSET :offset
), page AS MATERIALIZED (
    -- The page, in ellipsoid metres; entrances and positions only for what is returned.
    SELECT c.*, e.*
    FROM (SELECT * FROM candidates ORDER BY distance LIMIT :keep) AS c
    LEFT JOIN LATERAL (
        -- The entrance a visitor would use: for a car park the ramp, else a walkway;
        -- wartime openings are usually sealed in peacetime. Entrances lie metres apart,
        -- so degrees rank them well enough; metres are computed for the one chosen.
        SELECT e.id AS entrance_id, e.kind AS entrance_kind, e.accessible AS entrance_accessible,
               e.name AS entrance_name,
               ST_X(e.location) AS entrance_lon, ST_Y(e.location) AS entrance_lat,
               e.location AS entrance_location
        FROM entrance e
        WHERE e.facility_id = c.facility_id
        ORDER BY CASE e.kind WHEN :preferred THEN 0 WHEN 'wartime' THEN 2 ELSE 1 END,
                 e.location <-> ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)
        LIMIT 1
    ) e ON true
)
-- Rounding in float8, not numeric: the conversion to numeric costs more than the JSON.
SELECT c.distance, c.name, c.opening_hours, c.fresh, c.realtime_opening_status,
       target.gcj, target.bd,
       json_build_object(
           'use_id', c.id, 'facility_id', c.facility_id, 'type', c.type,
           'name', c.name, 'address', c.address,
           'location', json_build_object('lon', round(shown.location[1] * 1e7) / 1e7,
                                         'lat', round(shown.location[2] * 1e7) / 1e7),
           'distance_m', round(c.distance * 10) / 10,
           'entrance', CASE WHEN c.entrance_id IS NOT NULL THEN json_build_object(
               'id', c.entrance_id, 'kind', c.entrance_kind,
               'accessible', c.entrance_accessible, 'name', c.entrance_name,
               'location', json_build_object('lon', round(shown.entrance[1] * 1e7) / 1e7,
                                             'lat', round(shown.entrance[2] * 1e7) / 1e7),
               'distance_m', round(ST_Distance(c.entrance_location::geography, {POINT}) * 10) / 10)
               END,
           'opening_hours', c.opening_hours, 'fee', c.fee, 'contact_phone', c.contact_phone,
           'attributes', c.attributes,
           'parking', CASE WHEN c.type = 'parking' THEN json_build_object(
               'total_spaces', c.total_spaces, 'accessible_spaces', c.accessible_spaces,
               'ev_spaces', c.ev_spaces, 'charging_piles', c.charging_piles,
               'charging_max_kw', c.charging_max_kw, 'height_limit_m', c.height_limit_m) END,
           -- A stale figure is never shown as current (same rule as uses.service.availability).
           'availability', CASE WHEN c.type = 'parking' THEN json_build_object(
               'realtime_free_capacity', CASE WHEN c.fresh THEN c.realtime_free_spaces END,
               'realtime_free_charging_piles', CASE WHEN c.fresh THEN c.realtime_free_charging_piles END,
               'realtime_opening_status',
                   CASE WHEN c.fresh THEN c.realtime_opening_status ELSE 'UNKNOWN' END,
               'realtime_data_updated_at', c.realtime_observed_at,
               'age_seconds', floor(greatest(0, extract(epoch FROM now() - c.realtime_observed_at)))::int,
               'stale', NOT coalesce(c.fresh, false)) END
       )::text AS item
FROM page c
CROSS JOIN LATERAL (
    SELECT wgs84_to_gcj02(c.lon, c.lat) AS location,
           wgs84_to_gcj02(c.entrance_lon, c.entrance_lat) AS entrance
    OFFSET 0
) AS gcj
CROSS JOIN LATERAL (
    -- Positions in the caller's system.
    SELECT CASE WHEN :coordsys = 'gcj02' THEN gcj.location
                WHEN :coordsys = 'bd09' AND gcj02_applies(c.lon, c.lat)
                    THEN gcj02_to_bd09(gcj.location[1], gcj.location[2])
                ELSE ARRAY[c.lon, c.lat] END AS location,
           CASE WHEN :coordsys = 'gcj02' THEN gcj.entrance
                WHEN :coordsys = 'bd09' AND gcj02_applies(c.entrance_lon, c.entrance_lat)
                    THEN gcj02_to_bd09(gcj.entrance[1], gcj.entrance[2])
                ELSE ARRAY[c.entrance_lon, c.entrance_lat] END AS entrance
    OFFSET 0
) AS shown
CROSS JOIN LATERAL (
    -- Where navigation leads: the entrance, else the facility; in GCJ-02 and BD-09.
    SELECT t.gcj, CASE WHEN gcj02_applies(t.lon, t.lat) THEN gcj02_to_bd09(t.gcj[1], t.gcj[2])
                       ELSE ARRAY[t.lon, t.lat] END AS bd
    FROM (SELECT CASE WHEN c.entrance_id IS NULL THEN gcj.location ELSE gcj.entrance END AS gcj,
                 coalesce(c.entrance_lon, c.lon) AS lon, coalesce(c.entrance_lat, c.lat) AS lat
          OFFSET 0) AS t
) AS target
ORDER BY c.distance
"""


@dataclass(frozen=True)
class NearbyQuery:
    lon: float  # WGS 84
    lat: float
    radius_m: float
    use_type: UseType
    coordsys: CoordSys
    stale_after_s: int
    ev: bool = False
    min_free: int | None = None
    accessible: bool = False
    vehicle_height_m: float | None = None

    def filters(self) -> list[str]:
        chosen = []
        if self.ev:
            chosen.append(FILTERS["ev"])
        if self.min_free is not None:
            chosen.append(FILTERS["min_free"])
        if self.accessible:
            parking = self.use_type == UseType.parking
            chosen.append(FILTERS["accessible_spaces" if parking else "accessible_entrance"])
        if self.vehicle_height_m is not None:
            chosen.append(FILTERS["vehicle_height"])
        return [f.format(fresh=FRESH) for f in chosen]


def search(
    session: Session, query: NearbyQuery, *, limit: int, offset: int, keep: int
) -> list[Row]:
    """`limit` candidates nearest first by the index (a sphere), sorted by ellipsoid metres,
    of which the nearest `keep` are returned with their JSON."""
    filters = "".join(f" AND {f}" for f in query.filters())
    params = {
        "lon": query.lon,
        "lat": query.lat,
        "radius": query.radius_m,
        "use_type": query.use_type.value,
        "coordsys": query.coordsys.value,
        "stale_after_s": query.stale_after_s,
        "preferred": "vehicle" if query.use_type == UseType.parking else "pedestrian",
        "min_free": query.min_free,
        "vehicle_height": query.vehicle_height_m,
        "limit": limit,
        "offset": offset,
        "keep": keep,
    }
    return list(session.execute(text(SEARCH.format(filters=filters)), params))
