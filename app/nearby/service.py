import functools
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
import psycopg

from app.core.dates import SHANGHAI
from app.core.geo import CoordSys
from app.core.navigation import uri_component
from app.core.pagination import splice_items
from app.holidays.calendar import kind_of
from app.holidays.models import Override
from app.nearby import repository
from app.nearby.repository import NearbyQuery, SearchRow
from app.uses.hours import is_open
from app.uses.models import OpeningStatus, UseType

# The index orders by distance on a sphere; the answer's metres are on the ellipsoid,
# which differ by up to about 0.5 %. Fetching a margin and re-sorting makes the cut exact.
SPHERE_MARGIN = 1.2
# open_now is decided in Python (OSM hours have no SQL form): candidates are read in
# batches until the page is full, but never more than this many.
MAX_CANDIDATES = 2000
JSON_BOOL = {True: b"true", False: b"false", None: b"null"}


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
    items: list[bytes]  # UTF-8 JSON (NearbyItem)
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
        return repository.search(
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

    found = candidates(0)
    alerted = found.alerted  # the facts of the first batch hold for the answer
    day = kind_of(today, Override(found.day_kind) if found.day_kind else None)
    chosen: list[tuple[SearchRow, bool | None]] = []
    offset = 0
    while True:
        rows = found.places
        # An area's uses share a few hours expressions: each is read once per batch.
        open_at_now = {hours: is_open(hours, now, day) for hours in {row[1] for row in rows}}
        for row in rows:
            open_at = _open_now(row, open_at_now[row[1]])  # row[1]: the opening hours
            if not open_now or open_at is True:
                chosen.append((row, open_at))
        offset += batch
        if not open_now or len(rows) < batch or len(chosen) >= batch or offset >= MAX_CANDIDATES:
            break
        found = candidates(offset)
    if open_now:
        chosen.sort(key=lambda pair: pair[0][0])  # by distance
    items = [_item(row, open_at, fields) for row, open_at in chosen[:limit]]
    return Places(items, alerted)


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
    items: list[bytes],
    lead: dict[str, Any] | None = None,
    shelters: list[bytes] | None = None,
) -> bytes:
    """The answer as UTF-8 JSON (schema: NearbyAnswer). `lead` (alerts) and `shelters`
    (items as UTF-8 JSON) come before the items."""
    head = {**envelope(place, now), **(lead or {})}
    if shelters is not None:
        head = json.loads(splice_items(head, "shelters", shelters))
    return splice_items(head, "items", items)


def _open_now(row: SearchRow, open_at: bool | None) -> bool | None:
    """The hours' answer, unless a fresh live status says closed (as uses.service.open_now)."""
    _, _, fresh, status, _, _ = row
    if fresh and status == OpeningStatus.closed:
        return False
    return open_at


def _item(row: SearchRow, open_at: bool | None, fields: tuple[str, ...] | None) -> bytes:
    *_, members, doc = row
    # The stored document without its opening brace, after the members of this query.
    whole = b"".join((b'{"open_now" : ', JSON_BOOL[open_at], b", ", members, b", ", doc[1:]))
    if fields is None:
        return whole
    item = orjson.loads(whole)
    return orjson.dumps({name: item.get(name) for name in fields})


@functools.lru_cache(maxsize=16)
def _source(source: str) -> str:
    return uri_component(source)
