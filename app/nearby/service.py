import functools
import json
import struct
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import orjson
import psycopg

from app.core.dates import SHANGHAI
from app.core.geo import CoordSys
from app.core.navigation import uri_component
from app.core.pagination import splice_items
from app.holidays.calendar import DayKind, kind_of
from app.holidays.models import Override
from app.nearby import repository
from app.nearby.repository import NearbyQuery
from app.uses.hours import is_open
from app.uses.models import UseType

# The index orders by distance on a sphere; the answer's metres are on the ellipsoid,
# which differ by up to about 0.5 %. Fetching a margin and re-sorting makes the cut exact.
SPHERE_MARGIN = 1.2
# open_now is decided in Python (OSM hours have no SQL form): candidates are read in
# batches until the page is full, but never more than this many.
MAX_CANDIDATES = 2000
# open_now as SQL leaves it to be written: five bytes, the first value of each object
OPEN_NOW_AT = len(b'{"open_now" : ')
OPEN_NOW = {True: b"true ", False: b"false", None: b"null "}


@dataclass(frozen=True)
class Around:
    """The query point and its common options, read in the caller's coordinate system."""

    lon: float  # as sent, in `coordsys`
    lat: float
    wgs84: tuple[float, float]
    radius: float
    limit: int
    coordsys: CoordSys
    open_now: bool
    accessible: bool
    fields: tuple[str, ...] | None


@dataclass(frozen=True)
class Places:
    items: bytes | bytearray  # UTF-8 JSON objects (NearbyItem) joined by commas
    alerted: bool  # alerts are in force over the point


def search(
    connection: psycopg.Connection,
    place: Around,
    *,
    use_type: UseType,
    now: datetime,
    stale_after_s: int,
    ev: bool = False,
    min_free: int | None = None,
    vehicle_height_m: float | None = None,
    source: str,
) -> Places:
    """The nearest places around `place`, each as UTF-8 JSON, positions in its `coordsys`;
    each item keeps only `place.fields`, in that order (None: all)."""
    query = NearbyQuery(
        lon=place.wgs84[0],
        lat=place.wgs84[1],
        radius_m=place.radius,
        use_type=use_type,
        coordsys=place.coordsys,
        stale_after_s=stale_after_s,
        ev=ev,
        min_free=min_free,
        accessible=place.accessible,
        vehicle_height_m=vehicle_height_m,
    )
    limit, open_now, fields = place.limit, place.open_now, place.fields
    batch = int(limit * SPHERE_MARGIN) + 5
    today = now.astimezone(SHANGHAI).date()

    def candidates(offset: int) -> repository.Found:
        """The next batch, its items' open_now decided."""
        found = repository.search(
            connection,
            query,
            now=now,
            day=today,
            limit=batch,
            offset=offset,
            # Without open_now every candidate qualifies, and the page is cut in SQL.
            keep=batch if open_now else limit,
            navigation=fields is None or "navigation" in fields,
            source=_source(source),
        )
        day = kind_of(today, Override(found.day_kind) if found.day_kind else None)
        return replace(found, items=_open_now(found, now, day))

    found = candidates(0)
    alerted = found.alerted  # the facts of the first batch hold for the answer
    if not open_now and fields is None:
        return Places(found.items, alerted)
    # Chosen or cut item by item: the items are read.
    chosen = []
    offset = 0
    while True:
        places = orjson.loads(b"[%s]" % found.items)
        chosen += [place for place in places if not open_now or place["open_now"] is True]
        offset += batch
        if not open_now or found.kept < batch or len(chosen) >= batch or offset >= MAX_CANDIDATES:
            break
        found = candidates(offset)
    if open_now:
        chosen.sort(key=lambda place: place["distance_m"])
    if fields is not None:
        chosen = [{name: place.get(name) for name in fields} for place in chosen[:limit]]
    return Places(orjson.dumps(chosen[:limit])[1:-1], alerted)


def envelope(place: Around, now: datetime) -> dict[str, Any]:
    """What every nearby answer begins with: the point as the caller sent it in its
    `coordsys`, echoed back, the radius and the time of the answer."""
    return {
        "coordsys": place.coordsys.value,
        "center": {"lon": place.lon, "lat": place.lat},
        "radius_m": place.radius,
        "generated_at": now.isoformat(),
    }


def answer(
    place: Around,
    *,
    now: datetime,
    items: bytes | bytearray,
    lead: dict[str, Any] | None = None,
    shelters: list[bytes] | None = None,
) -> bytes:
    """The answer as UTF-8 JSON (schema: NearbyAnswer). `lead` (alerts) and `shelters`
    (items as UTF-8 JSON) come before the items."""
    head = {**envelope(place, now), **(lead or {})}
    if shelters is not None:
        head = json.loads(splice_items(head, "shelters", shelters))
    return splice_items(head, "items", [items] if items else [])


def _open_now(found: repository.Found, now: datetime, day: DayKind) -> bytes | bytearray:
    """The items with each open_now left to Python (repository.SEARCH: five spaces, the
    object's first value) written with what the place's hours say at `now`, in place,
    found by the objects' lengths: the items are not searched."""
    hours = orjson.loads(found.hours)
    if hours.count(None) == len(hours):  # all written in SQL
        return found.items
    minute = now.replace(second=0, microsecond=0)
    verdicts = _verdicts(minute, day)
    items = bytearray(found.items)
    at = OPEN_NOW_AT
    lengths = struct.unpack(f">{len(hours)}i", found.lengths)
    for length, expression in zip(lengths, hours, strict=True):
        if expression is not None:
            verdict = verdicts.get(expression)
            if verdict is None:
                verdict = verdicts[expression] = OPEN_NOW[is_open(expression, minute, day)]
            items[at : at + 5] = verdict
        at += length + 1  # and the comma
    return items


@functools.lru_cache(maxsize=2)
def _verdicts(minute: datetime, day: DayKind) -> dict[str, bytes]:
    """What each expression reads in this minute on a day of this kind, filled as
    expressions come: the syntax knows no unit finer than the minute, and an area's places
    share a few."""
    return {}


@functools.lru_cache(maxsize=16)
def _source(source: str) -> str:
    return uri_component(source)
