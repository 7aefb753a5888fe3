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
from app.db.session import Prepared, one_row
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
-- One row, whether or not a place is found: the day's kind as an admin declared it
-- (holidays), whether alerts are in force over the point, how many candidates were kept,
-- the places as one run of JSON objects joined by commas, each object's length, and what
-- each one's open_now is to be read from. Each aggregate takes the places in the order
-- they come, nearest first: an aggregate's own ORDER BY would sort them again, once each.
SELECT (SELECT d.kind FROM calendar_day d WHERE d.day = :day) AS day_kind,
       EXISTS (SELECT FROM alert_area r JOIN alert a ON a.id = r.alert_id
           WHERE ST_Intersects(r.geom, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326))
           AND {IN_FORCE}) AS alerted,
       count(*)::int AS kept,
       string_agg(c.item, textsend(',')) AS items,
       -- four bytes each, big-endian
       string_agg(int4send(octet_length(c.item)), '') AS lengths,
       -- null where the item's open_now is written, else the place's hours
       json_agg(CASE WHEN c.decided IS NULL THEN c.opening_hours END) AS hours
FROM (
    SELECT c.distance, c.opening_hours, c.decided,
           -- "open_now" first, in five bytes: false when a fresh live status says closed,
           -- null (and a space, which JSON allows) without hours, true (and a space) for
           -- 24/7, else five spaces that service._open_now writes over with what the
           -- hours say now: they have no SQL form.
           textsend('{{"open_now" : ' || coalesce(c.decided, '     ')
           || ', "location" : ' || json_position(c.at, :position)
           || ', "distance_m" : ' || round(c.distance * 10) / 10
           || ', "entrance" : ' || coalesce(
               left(c.entrance_docs[c.i], -1)
               || ', "location" : ' || json_position(c.entrance_at, c.i * 6 - 6 + :position)
               || ', "distance_m" : ' || round(ST_Distance(
                   ST_GeometryN(c.entrance_points, c.i)::geography, {POINT}) * 10) / 10
               || '}}', 'null')
           -- A stale figure is never shown as current (as uses.service.availability).
           || ', "availability" : ' || CASE WHEN c.type = 'parking' THEN json_build_object(
               'realtime_free_capacity', CASE WHEN c.fresh THEN c.realtime_free_spaces END,
               'realtime_free_charging_piles',
                   CASE WHEN c.fresh THEN c.realtime_free_charging_piles END,
               'realtime_opening_status',
                   CASE WHEN c.fresh THEN c.realtime_opening_status ELSE 'UNKNOWN' END,
               'realtime_data_updated_at', c.realtime_observed_at,
               -- greatest() skips a NULL: without a report there is no age.
               'age_seconds', CASE WHEN c.realtime_observed_at IS NOT NULL THEN
                   floor(greatest(0, extract(epoch FROM now() - c.realtime_observed_at)))::int END,
               'stale', NOT coalesce(c.fresh, false))::text ELSE 'null' END
           || {{navigation}} || ', ')
           -- The stored document after its opening brace, cut as bytes: substr() would
           -- count the characters of its UTF-8.
           || substring(textsend(c.doc) FROM 2) AS item
FROM (
    -- decided: open_now where the row tells it without the hours' reading (24/7, the
    -- commonest hours, is open at every moment of every kind of day).
    -- i: the nearest of the entrances a visitor would use, in metres on the ellipsoid;
    -- looked for only among several (most places have one, some none).
    SELECT c.*, CASE WHEN c.fresh AND c.realtime_opening_status = 'CLOSED' THEN 'false'
                WHEN c.opening_hours IS NULL THEN 'null '
                WHEN c.opening_hours = '24/7' THEN 'true ' END AS decided,
           CASE WHEN ST_NumGeometries(c.entrance_points) > 1 THEN (
               SELECT i FROM generate_series(1, ST_NumGeometries(c.entrance_points)) AS i
               ORDER BY ST_Distance(ST_GeometryN(c.entrance_points, i)::geography, {POINT})
               LIMIT 1)
           ELSE ST_NumGeometries(c.entrance_points) END AS i
    FROM candidates c
    ORDER BY c.distance
    LIMIT :keep
) AS c {{navigation_from}}
    -- a fence: merged into the aggregates above, each item would be written twice
    OFFSET 0
) AS c
"""

# Links to the place for Amap, Baidu and Tencent Maps, each in its app's system (GCJ-02 or
# BD-09), leading to the entrance else the facility. The name comes percent-encoded
# (use_search.name_uri, migration 0032).
NAVIGATION_FROM = """
CROSS JOIN LATERAL (
    SELECT round(p[3]::numeric, 6) AS gcj_lon, round(p[4]::numeric, 6) AS gcj_lat,
           round(p[5]::numeric, 6) AS bd_lon, round(p[6]::numeric, 6) AS bd_lat
    -- the six numbers of the entrance's position, else the facility's (a slice counts from 1)
    FROM (SELECT CASE WHEN c.i IS NULL THEN c.at ELSE c.entrance_at[c.i * 6 - 5 : c.i * 6] END)
        AS e (p)
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
    without its comments and indentation, which PostgreSQL would parse at every
    preparation and pg_stat_statements show."""
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


@dataclass(frozen=True)
class Found:
    items: bytes | bytearray  # UTF-8 JSON objects joined by commas (SEARCH)
    lengths: bytes  # each object's length in bytes, as big-endian 32-bit integers
    hours: bytes  # a JSON array, per object: null when its open_now is written, else hours
    kept: int  # how many; with keep = limit, fewer are the last of the candidates
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
    of which the nearest `keep` are returned as JSON; `source` names this service in the
    navigation links (percent-encoded). `day`: the date of `now` in Shanghai."""
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
    # One row of bytes, by libpq itself (db.session.one_row): SQLAlchemy's execution, and
    # psycopg's own, cost more Python than the answer's.
    row = one_row(connection, _statement(tuple(query.filters()), navigation), params)
    day_kind, alerted, kept, items, lengths, hours = row
    return Found(
        items=items or b"",
        lengths=lengths or b"",
        hours=hours or b"[]",
        kept=int.from_bytes(kept),
        day_kind=day_kind.decode() if day_kind else None,
        alerted=alerted == b"\x01",
    )


# Made once per combination of filters (a few dozen).
@functools.lru_cache(maxsize=128)
def _statement(filters: tuple[str, ...], navigation: bool) -> Prepared:
    return Prepared.of(search_sql(filters, navigation=navigation))
