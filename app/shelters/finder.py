"""The public shelter finder: the usable shelters nearest a point, each with its nearest
pedestrian entrance, capacity, live status and walking links. Shared by
GET /v1/shelters/nearby and the alert mode of /v1/parking/nearby.

Distances are geodesic, on the WGS 84 ellipsoid (PostGIS geography), from the query
point to the nearest pedestrian entrance (else to the work's location): a lower bound of
the walk. Candidates come nearest first by the works' locations from the partial index
of shelter works; a margin of them is re-sorted by the entrance's distance."""

import functools
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Row, TextClause, text
from sqlalchemy.orm import Session

from app.accounts.principal import Principal
from app.alerts.rules import IN_FORCE, REAL
from app.core.geo import CoordSys, position_from_wgs84
from app.core.navigation import navigation_json
from app.facilities.scope import restricted_sql, visible_sql
from app.shelters.models import SHELTER_WORK
from app.shelters.status import FREE_PLACES, FRESH

POINT = "ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)::geography"
DISTANCE_MEANING = (
    "geodesic metres on the WGS 84 ellipsoid from the query point to the nearest "
    "pedestrian entrance (else the work's location): a lower bound of the walk"
)
# Entrances lie within a hundred metres or so of the work's location: fetching a margin
# of candidates by location and re-sorting by entrance makes the order right in practice.
MARGIN = 2

# A restricted work is offered only while an Actual alert in force over it says so.
OPENED = f"""(visibility = 'restricted' AND EXISTS (
    SELECT FROM alert_area r JOIN alert a ON a.id = r.alert_id
    WHERE a.open_restricted AND a.status = '{REAL}' AND {IN_FORCE}
      AND ST_Intersects(r.geom, facility.location)))"""

SEARCH = f"""
SELECT c.*, e.id AS entrance_id, e.accessible AS entrance_accessible,
       e.name AS entrance_name, e.lon AS entrance_lon, e.lat AS entrance_lat,
       e.metres AS entrance_m, coalesce(e.metres, c.location_m) AS distance,
       s.state, s.persons_inside, s.observed_at,
       {FRESH} AS fresh, {FREE_PLACES} AS free_places
FROM (
    SELECT id, code, name, address, wartime_function, wartime_subtype, capacity_persons,
           CASE WHEN {{restricted}} THEN conversion_hours END AS conversion_hours,
           ST_X(location) AS lon, ST_Y(location) AS lat,
           NOT {{visible}} AS opened,
           CASE WHEN {{restricted}} THEN json_build_object(
               'nuclear_level', nuclear_level, 'conventional_level', conventional_level,
               'chemical_class', chemical_class)::text END AS protection,
           ST_Distance(location::geography, {POINT}) AS location_m
    FROM facility
    WHERE {SHELTER_WORK} AND ({{visible}} OR {OPENED})
      AND ST_DWithin(location::geography, {POINT}, :radius)
    ORDER BY location::geography <-> {POINT}
    LIMIT :candidates
) AS c
LEFT JOIN LATERAL (
    SELECT e.id, e.accessible, e.name, ST_X(e.location) AS lon, ST_Y(e.location) AS lat,
           ST_Distance(e.location::geography, {POINT}) AS metres
    FROM entrance e
    WHERE e.facility_id = c.id AND e.kind = 'pedestrian' {{accessible}}
    ORDER BY metres LIMIT 1
) AS e ON true
LEFT JOIN LATERAL (
    SELECT s.state, s.persons_inside, s.observed_at FROM shelter_status s
    WHERE s.facility_id = c.id ORDER BY s.observed_at DESC LIMIT 1
) AS s ON true
WHERE true {{filters}}
ORDER BY distance
LIMIT :limit
"""


@dataclass(frozen=True)
class ShelterQuery:
    lon: float  # WGS 84
    lat: float
    radius_m: float
    limit: int
    coordsys: CoordSys
    now: datetime
    stale_after_s: int
    min_free: int | None = None
    accessible: bool = False


def find(
    session: Session, query: ShelterQuery, *, principal: Principal, source: str
) -> list[bytes]:
    """The items as UTF-8 JSON, nearest first (schema: ShelterItem)."""
    visible, visible_params = visible_sql(principal)
    restricted, restricted_params = restricted_sql(principal)
    filters = []
    if query.accessible:
        filters.append("AND e.id IS NOT NULL")
    if query.min_free is not None:
        filters.append("AND coalesce(" + FREE_PLACES + " >= :min_free, false)")
    statement = _statement(visible, restricted, query.accessible, tuple(filters))
    rows = session.execute(
        statement,
        {
            "lon": query.lon,
            "lat": query.lat,
            "radius": query.radius_m,
            "candidates": query.limit * MARGIN + 10,
            "limit": query.limit,
            "now": query.now,
            "stale_after_s": query.stale_after_s,
            "min_free": query.min_free,
            **visible_params,
            **restricted_params,
        },
    ).all()
    return [_item(row, query, source=source) for row in rows]


@functools.lru_cache(maxsize=64)
def _statement(
    visible: str, restricted: str, accessible: bool, filters: tuple[str, ...]
) -> TextClause:
    sql = (
        SEARCH.replace("{visible}", visible)
        .replace("{restricted}", restricted)
        .replace("{accessible}", "AND e.accessible" if accessible else "")
        .replace("{filters}", " ".join(filters))
    )
    return text(sql)


def _position(lon: float, lat: float, coordsys: CoordSys) -> dict[str, float]:
    x, y = position_from_wgs84(lon, lat, coordsys)
    return {"lon": round(x, 7), "lat": round(y, 7)}


def _item(row: Row, query: ShelterQuery, *, source: str) -> bytes:
    to = (row.entrance_lon, row.entrance_lat) if row.entrance_id else (row.lon, row.lat)
    gcj = position_from_wgs84(*to, CoordSys.gcj02)
    bd = position_from_wgs84(*to, CoordSys.bd09)
    entrance = None
    if row.entrance_id is not None:
        entrance = {
            "id": row.entrance_id,
            "accessible": row.entrance_accessible,
            "name": row.entrance_name,
            "location": _position(row.entrance_lon, row.entrance_lat, query.coordsys),
            "distance_m": round(row.entrance_m, 1),
        }
    status = None
    if row.observed_at is not None:
        status = {
            "state": row.state if row.fresh else "unknown",
            "persons_inside": row.persons_inside if row.fresh else None,
            "observed_at": row.observed_at.isoformat(),
            "age_seconds": max(0, int((query.now - row.observed_at).total_seconds())),
            "stale": not row.fresh,
        }
    item: dict[str, Any] = {
        "facility_id": row.id,
        "code": row.code,
        "name": row.name,
        "address": row.address,
        "wartime_function": row.wartime_function,
        "wartime_subtype": row.wartime_subtype,
        "location": _position(row.lon, row.lat, query.coordsys),
        "distance_m": round(row.distance, 1),
        "entrance": entrance,
        "capacity_persons": row.capacity_persons,
        "free_places": row.free_places,
        "status": status,
        "conversion_hours": row.conversion_hours,
        "opened_by_alert": row.opened,
        "protection": orjson.Fragment(row.protection) if row.protection else None,
        "navigation": orjson.Fragment(
            navigation_json(gcj, bd, row.name, driving=False, source=source)
        ),
    }
    return orjson.dumps(item)
