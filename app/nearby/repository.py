"""Nearby search: one KNN scan of the GiST index on use_search, whose rows hold each use's
answer already written as JSON in every coordinate system (migration 0005). The query adds
only what depends on the query point or the clock, and the two facts the answer needs
besides the places (the day's kind, alerts over the point): one round trip per answer."""

import functools
import re
from dataclasses import dataclass
from datetime import date, datetime

import psycopg

from app.alerts.rules import IN_FORCE
from app.core.geo import CoordSys
from app.db.session import utf8_rows
from app.uses.models import UseType

POINT = "ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)::geography"

# Filters are fixed SQL fragments chosen by flag; every value in them is a bound parameter.
FILTERS = {
    # Piles exist, and a fresh report does not say they are all taken.
    "ev": "s.charging_piles > 0 AND NOT coalesce({fresh} AND s.realtime_free_charging_piles = 0, false)",
    "min_free": "{fresh} AND s.realtime_free_spaces >= :min_free",
    "accessible_spaces": "s.accessible_spaces > 0",
    "accessible_entrance": "s.accessible_entrance",
    # An unknown height limit is no promise that a tall vehicle fits.
    "vehicle_height": "s.height_limit_m >= :vehicle_height",
}
FRESH = "occupancy_fresh(s.realtime_observed_at, :stale_after_s)"  # migration 0008
# Where a system's position starts in use_search's arrays of six numbers (WGS 84, GCJ-02,
# BD-09); CGCS2000 positions are WGS 84's (see CoordSys).
POSITION_INDEX = {CoordSys.wgs84: 1, CoordSys.cgcs2000: 1, CoordSys.gcj02: 3, CoordSys.bd09: 5}

SEARCH = f"""
WITH candidates AS MATERIALIZED (
    SELECT s.*, {FRESH} AS fresh, ST_Distance(s.location, {POINT}) AS distance
    FROM use_search s
    WHERE s.type = :use_type AND ST_DWithin(s.location, {POINT}, :radius) {{filters}}
    ORDER BY s.location <-> {POINT}
    LIMIT :limit OFFSET :offset
)
SELECT q.day_kind, q.alerted, c.distance, c.opening_hours::varchar, c.fresh,
       c.realtime_opening_status,
       -- The item's members that depend on the query, then its stored ones without the
       -- opening brace (service._item puts "open_now" first): cutting the brace off in
       -- Python, where PostgreSQL's substr would walk the UTF-8 of the document. Both
       -- arrive as UTF-8 bytes (db.session.utf8_rows).
       '"location" : ' || json_position(c.at, :position)
       || ', "distance_m" : ' || round(c.distance * 10) / 10
       || ', "entrance" : ' || coalesce(
           left(c.entrance_docs[c.i], -1)
           || ', "location" : ' || json_position(c.entrance_at, c.i * 6 - 6 + :position)
           || ', "distance_m" : ' || round(ST_Distance(
               ST_GeometryN(c.entrance_points, c.i)::geography, {POINT}) * 10) / 10
           || '}}', 'null')
       -- A stale figure is never shown as current (same rule as uses.service.availability).
       || ', "availability" : ' || CASE WHEN c.type = 'parking' THEN json_build_object(
           'realtime_free_capacity', CASE WHEN c.fresh THEN c.realtime_free_spaces END,
           'realtime_free_charging_piles', CASE WHEN c.fresh THEN c.realtime_free_charging_piles END,
           'realtime_opening_status',
               CASE WHEN c.fresh THEN c.realtime_opening_status ELSE 'UNKNOWN' END,
           'realtime_data_updated_at', c.realtime_observed_at,
           -- greatest() skips a NULL: without a report there is no age.
           'age_seconds', CASE WHEN c.realtime_observed_at IS NOT NULL THEN
               floor(greatest(0, extract(epoch FROM now() - c.realtime_observed_at)))::int END,
           'stale', NOT coalesce(c.fresh, false))::text ELSE 'null' END
       || {{navigation}} AS members,
       c.doc
FROM (
    -- The day's kind as an admin declared it (holidays), and whether alerts are in force
    -- over the point: on a row of their own when no place is found.
    SELECT (SELECT d.kind FROM calendar_day d WHERE d.day = :day) AS day_kind,
           EXISTS (SELECT FROM alert_area r JOIN alert a ON a.id = r.alert_id
               WHERE ST_Intersects(r.geom, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326))
               AND {IN_FORCE}) AS alerted
) AS q LEFT JOIN (
    -- i: the nearest of the entrances a visitor would use, in metres on the ellipsoid;
    -- looked for only among several (most places have one, some none).
    SELECT c.*, CASE WHEN ST_NumGeometries(c.entrance_points) > 1 THEN (
               SELECT i FROM generate_series(1, ST_NumGeometries(c.entrance_points)) AS i
               ORDER BY ST_Distance(ST_GeometryN(c.entrance_points, i)::geography, {POINT})
               LIMIT 1)
           ELSE ST_NumGeometries(c.entrance_points) END AS i
    FROM candidates c
    ORDER BY c.distance
    LIMIT :keep
) AS c ON true {{navigation_from}}
ORDER BY c.distance
"""

# Links to the place for Amap, Baidu and Tencent Maps, each in its app's system (GCJ-02 or
# BD-09), leading to the entrance else the facility. The name comes percent-encoded
# (use_search.name_uri, migration 0032).
NAVIGATION_FROM = """
CROSS JOIN LATERAL (
    SELECT round(CASE WHEN c.i IS NULL THEN c.at[3] ELSE c.entrance_at[c.i * 6 - 3] END
                 ::numeric, 6) AS gcj_lon,
           round(CASE WHEN c.i IS NULL THEN c.at[4] ELSE c.entrance_at[c.i * 6 - 2] END
                 ::numeric, 6) AS gcj_lat,
           round(CASE WHEN c.i IS NULL THEN c.at[5] ELSE c.entrance_at[c.i * 6 - 1] END
                 ::numeric, 6) AS bd_lon,
           round(CASE WHEN c.i IS NULL THEN c.at[6] ELSE c.entrance_at[c.i * 6] END
                 ::numeric, 6) AS bd_lat
) AS n"""
NAVIGATION = """', "navigation" : {"amap": "https://uri.amap.com/navigation?to='
    || n.gcj_lon || ',' || n.gcj_lat || ',' || c.name_uri || '&mode=' || :amap_mode
    || '&coordinate=gaode&callnative=1&src=' || :source
    || '", "baidu": "https://api.map.baidu.com/direction?destination=latlng:' || n.bd_lat
    || ',' || n.bd_lon || '%7Cname:' || c.name_uri || '&mode=' || :baidu_mode
    || '&coord_type=bd09ll&output=html&src=' || :source
    || '", "tencent": "https://apis.map.qq.com/uri/v1/routeplan?type=' || :tencent_mode
    || '&to=' || c.name_uri || '&tocoord=' || n.gcj_lat || ',' || n.gcj_lon
    || '&referer=' || :source || '"}'"""
WITHOUT_NAVIGATION = """', "navigation" : null'"""


def search_sql(filters: tuple[str, ...], *, navigation: bool) -> str:
    """The search's statement with these filters, with or without navigation links,
    without its comments and indentation: psycopg caches its translation of a statement
    of at most 4,096 characters only, and translates a longer one at every execution."""
    sql = (
        SEARCH.replace("{filters}", "".join(f" AND {f}" for f in filters))
        .replace("{navigation}", NAVIGATION if navigation else WITHOUT_NAVIGATION)
        .replace("{navigation_from}", NAVIGATION_FROM if navigation else "")
    )
    # No string in the statement holds "--" or a line break.
    lines = (re.sub(r"--.*", "", line).strip() for line in sql.splitlines())
    return "\n".join(line for line in lines if line)


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


# A place: distance, opening_hours, fresh, realtime_opening_status, members, doc.
SearchRow = tuple[float, str | None, bool | None, str | None, bytes, bytes]


@dataclass(frozen=True)
class Found:
    places: list[SearchRow]
    day_kind: str | None  # the kind an admin declared for the day (holidays), if any
    alerted: bool  # alerts are in force over the point


def search(
    connection: psycopg.Connection,
    query: NearbyQuery,
    *,
    now: datetime,
    day: date,
    limit: int,
    offset: int,
    keep: int,
    navigation: bool,
    source: str,
) -> Found:
    """`limit` candidates nearest first by the index (a sphere), sorted by ellipsoid metres,
    of which the nearest `keep` are returned with their JSON; `source` names this service
    in the navigation links (percent-encoded). `day`: the date of `now` in Shanghai."""
    driving = query.use_type == UseType.parking
    params = {
        "lon": query.lon,
        "lat": query.lat,
        "radius": query.radius_m,
        "use_type": query.use_type.value,
        "position": POSITION_INDEX[query.coordsys],
        "stale_after_s": query.stale_after_s,
        "min_free": query.min_free,
        "vehicle_height": query.vehicle_height_m,
        "limit": limit,
        "offset": offset,
        "keep": keep,
        "amap_mode": "car" if driving else "walk",
        "tencent_mode": "drive" if driving else "walk",
        "baidu_mode": "driving" if driving else "walking",
        "source": source,
        "now": now,
        "day": day,
    }
    # psycopg's own connection: SQLAlchemy's execution and rows cost more Python than the
    # answer's, and the search needs neither (a read connection, autocommit).
    rows = utf8_rows(connection, _statement(tuple(query.filters()), navigation), params)
    day_kind, alerted = rows[0][0], rows[0][1]
    # Without a place the one row holds the facts alone.
    places = [row[2:] for row in rows] if rows[0][2] is not None else []
    return Found(places, day_kind, alerted)


# Made once per combination of filters (a few dozen): the statement in psycopg's
# placeholders.
@functools.lru_cache(maxsize=128)
def _statement(filters: tuple[str, ...], navigation: bool) -> str:
    sql = search_sql(filters, navigation=navigation).replace("%", "%%")
    return re.sub(r"(?<![:\w]):(\w+)", r"%(\1)s", sql)
