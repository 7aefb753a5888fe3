"""The server-side tile cache, one per API process, and how writes invalidate it.

- Each process keeps rendered tiles in memory (LRU, `Settings.tile_cache_bytes`), keyed
  by collection (with its tile set's suffix: `facilities@gcj02`) and z/x/y, with a strong ETag from their content hash.
- Writes are recorded by the database, not by the API: statement triggers (migration 0007)
  on facility, entrance, peacetime_use and sign append to `tile_change` the old and the
  new position of every row whose tile content changed (its extent, for a statement that
  changed more than a thousand rows), with the collections whose tiles show it and the
  writing transaction's xid. Writes from any process, the CLI, an import or psql count.
- Before it serves a tile from the cache (or from a render under way), a process reads
  the log past its horizon and evicts the tiles those changes touch, at every zoom: the
  tiles whose buffer reaches a point's position, or, at cluster zooms, its grid cell
  (`matrix.touched`); untouched tiles stay. The read starts after the request arrived,
  so it sees every write that had returned by then: a stale tile is never served after
  a write returns. Requests that arrive while a read is under way share the next one,
  so under load one query serves many hits; an idle process reads nothing. A tile
  neither cached nor being rendered needs no read: it is rendered at once, from a
  snapshot taken after the request arrived.
- With replicas, the log is read and tiles are rendered on one of them, the one
  `db.replicas` pins, so that both come from one timeline; when that changes the cache
  starts over. A caller who just wrote is answered from the primary, past the cache.
- The horizon is the xmin of the snapshot that read the log, so a transaction that
  commits later than younger ones is still read; changes read twice are known by id.
- A render that began before a change was applied (its snapshot may predate the write)
  stores its tile only if no change applied since it began touches that tile; the
  change is otherwise evicted after the store, which is as good. Requests for a tile
  being rendered share that render, on the same condition.
- A shelter's live status changes only the tiles of single features (ogc.tiles.layers):
  its trigger logs under `shelter_status`, which evicts the shelters' tiles from
  DETAIL_ZOOM up and leaves the cluster tiles. A tile showing a fresh status is kept until
  the first of them goes stale (`Tile.until`), then rendered again; a divisions tile
  until China's next midnight, when the divisions in force may change (`Layer.daily`).
- The triggers prune changes older than a day and record the largest pruned xid; a
  process whose horizon lies below it may have missed changes and empties its cache.

The cache belongs to the process's event loop: only coroutines on it touch its state, so
it needs no locks. Reads of the log and renders are hot reads (db.session.hot_read)."""

import asyncio
import hashlib
import time
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import cached_property
from itertools import takewhile
from typing import NamedTuple

from starlette.datastructures import State

from app.core.compression import CODINGS, coded_etag
from app.db.session import FROM_PRIMARY, hot_read
from app.ogc.tiles import repository
from app.ogc.tiles.matrix import DETAIL_ZOOM, GCJ02, GCJ02_REACH, MAX_ZOOM, MIN_ZOOM, touched
from app.ogc.tiles.repository import Rendered

# Changes remembered for renders in flight; a render older than all of them is not stored.
RECENT = 10_000
# Beyond this many candidate tiles, a change looks through the cached keys instead.
ENUMERATE_AT_MOST = 1024
# Before the first read, which then starts at its snapshot's xmin (repository.CHANGES_SINCE).
NO_HORIZON = 2**62

# Log names of writes that change only what single features show: the collection whose
# tiles from DETAIL_ZOOM up they touch.
FEATURES_ONLY = {"shelter_status": "shelters"}

Key = tuple[str, int, int, int]


@dataclass(frozen=True)
class Tile:
    body: bytes
    etag: str
    # Unix time from which it must not be served (repository.Rendered.until)
    until: float | None = None
    # its answers, made once each: by content coding and whether it is a 304 (router.answer)
    answers: dict = field(default_factory=dict, compare=False, repr=False)

    @cached_property
    def tags(self) -> frozenset[bytes]:
        """The If-None-Match values that name this tile and nothing else: its tag, strong
        or weak, in each content coding."""
        tags = [self.etag, *(coded_etag(self.etag, coding) for coding in CODINGS)]
        return frozenset(prefix + tag.encode() for tag in tags for prefix in (b"", b"W/"))


class Change(NamedTuple):
    collections: frozenset[str]
    west: float
    south: float
    east: float
    north: float
    min_zoom: int = MIN_ZOOM

    def spans(self) -> dict[int, tuple[range, range]]:
        return {
            z: touched(z, self.west, self.south, self.east, self.north)
            for z in range(self.min_zoom, MAX_ZOOM + 1)
        }

    def touches(self, key: Key) -> bool:
        collection, z, x, y = key
        if collection not in self.collections or z < self.min_zoom:
            return False
        columns, rows = touched(z, self.west, self.south, self.east, self.north)
        return x in columns and y in rows


def tile_of(body: bytes, until: float | None = None) -> Tile:
    return Tile(body, f'"{hashlib.sha256(body).hexdigest()[:32]}"', until)


def changes_of(
    collections: list[str], west: float, south: float, east: float, north: float
) -> tuple[Change, Change]:
    """A logged change, to the WGS 84 tiles and to the GCJ-02 ones: there the positions
    lie up to GCJ02_REACH away, in a direction the box alone does not tell."""
    min_zoom = MIN_ZOOM
    if all(name in FEATURES_ONLY for name in collections):
        collections = [FEATURES_ONLY[name] for name in collections]
        min_zoom = DETAIL_ZOOM
    reach = GCJ02_REACH
    return (
        Change(frozenset(collections), west, south, east, north, min_zoom),
        Change(
            frozenset(collection + GCJ02.key_suffix for collection in collections),
            west - reach,
            south - reach,
            east + reach,
            north + reach,
            min_zoom,
        ),
    )


# Stands for every tile: the log was pruned past this process's horizon.
EVERYTHING = None


class TileCache:
    def __init__(self, state: State) -> None:
        self._state = state  # the app's, for its hot reads and settings
        self._max_bytes = state.settings.tile_cache_bytes
        self._tiles: OrderedDict[Key, Tile] = OrderedDict()
        self._bytes = 0
        self._horizon = NO_HORIZON
        self._seen: dict[int, int] = {}  # change id -> xid, for changes at or above the horizon
        self.generation = 0
        self._recent: deque[tuple[int, Change | None]] = deque()
        self._forgotten = 0  # the newest generation dropped from _recent
        self._current: asyncio.Future | None = None
        self._next: asyncio.Future | None = None
        self._waiting: list[asyncio.Future] = []  # the callers of sync waiting for _next
        self._rendering: dict[Key, tuple[int, asyncio.Future[Tile]]] = {}
        self._epoch = 0  # of the replica followed (db.replicas)
        self.hits = self.misses = 0

    # --- the log ------------------------------------------------------------------

    async def sync(self) -> None:
        """Returns once a read of the log that began after this call has been applied."""
        if self._next is None:
            self._waiting = []
            self._next = asyncio.ensure_future(self._read_after(self._current, self._waiting))
        # A future of each caller's own, which the read settles: a caller cancelled cancels
        # its own wait, never the read the others wait for (as asyncio.shield would do, at
        # twice the cost per waiter).
        waiter = asyncio.get_running_loop().create_future()
        self._waiting.append(waiter)
        await waiter

    async def _read_after(
        self, previous: asyncio.Future | None, waiting: list[asyncio.Future]
    ) -> None:
        try:
            if previous is not None and not previous.done():
                await asyncio.wait([previous])
            self._current, self._next = self._next, None
            horizon = self._horizon
            # On the event loop's thread: one short query, and the hop to a worker thread
            # and back had cost the process more CPU than the hits it served
            # (docs/performance.md). It waits without blocking the loop, which meanwhile
            # takes the next requests.
            self.apply(
                await hot_read(
                    self._state,
                    lambda connection: repository.changes_since(connection, horizon),
                    inline=True,
                    pinned=True,
                    raw=True,
                    waits=True,
                )
            )
        except asyncio.CancelledError:  # the process stopping
            if self._next is asyncio.current_task():  # cancelled before it began
                self._next = None
            for waiter in waiting:
                waiter.cancel()
            raise
        except Exception as exc:  # each waiter's answer: a 503, a 504
            for waiter in waiting:
                if not waiter.done():
                    waiter.set_exception(exc)
            return
        for waiter in waiting:
            if not waiter.done():
                waiter.set_result(None)

    def apply(self, changes: repository.Changes) -> None:
        fresh = [row for row in changes.rows if row[0] not in self._seen]
        pruned = self._horizon != NO_HORIZON and changes.pruned_xid >= self._horizon
        if fresh or pruned:
            self.generation += 1
        if pruned:
            self._remember(EVERYTHING)
            self._tiles.clear()
            self._bytes = 0
        for id_, xid, collections, *box in fresh:
            self._seen[id_] = xid
            for change in changes_of(collections, *box):
                self._remember(change)
                self._evict(change)
        self._horizon = changes.horizon
        self._seen = {id_: xid for id_, xid in self._seen.items() if xid >= self._horizon}

    def _remember(self, change: Change | None) -> None:
        self._recent.append((self.generation, change))
        if len(self._recent) > RECENT:
            self._forgotten = self._recent.popleft()[0]

    def _evict(self, change: Change) -> None:
        spans = change.spans()
        candidates = len(change.collections) * sum(len(c) * len(r) for c, r in spans.values())
        if candidates <= ENUMERATE_AT_MOST:
            keys = [
                (collection, z, x, y)
                for collection in change.collections
                for z, (columns, rows) in spans.items()
                for x in columns
                for y in rows
            ]
        else:
            keys = [
                key
                for key in self._tiles
                if key[0] in change.collections
                and key[2] in spans[key[1]][0]
                and key[3] in spans[key[1]][1]
            ]
        for key in keys:
            self._drop(key)

    # --- the tiles ----------------------------------------------------------------

    async def tile(self, key: Key, render: Callable[[], Awaitable[Rendered]]) -> Tile:
        """The tile at `key`, holding every write that had returned when this call began.
        A tile that is cached, or being rendered, is taken once a read of the log that
        began after this call has been applied (sync, get, fill). Any other is rendered at
        once, with no read of the log: its render's snapshot is taken after this call
        began. Under load that read had waited its turn at the read gate behind the
        renders queued there, and the render then waited again (1M facilities, 32
        connections, every z14 tile rendered, alternating: p99 93-99 -> 67-71 ms, at the
        same 1,500-1,700 tiles a second). A change such a render already holds may still
        evict its tile when a later read applies it, at the cost of one more render. A
        process's first request reads the log, which sets the horizon later reads start
        from."""
        reads = self._state.reads
        if reads.replicas and FROM_PRIMARY.get():
            # A caller who just wrote: from the primary, past the cache of the replica.
            return tile_of(*await render())
        if reads.epoch != self._epoch:
            self._start_over(reads.epoch)
        if key in self._tiles or key in self._rendering or self._horizon == NO_HORIZON:
            await self.sync()
            found = self.get(key)
            if found is not None:
                return found
        else:
            self.misses += 1
        return await self.fill(key, render)

    def _start_over(self, epoch: int) -> None:
        """The replica followed changed: its log and its tiles are another timeline.
        Renders under way are not stored, and the next request reads the log anew."""
        self._epoch = epoch
        self.generation += 1
        self._remember(EVERYTHING)
        self._tiles.clear()
        self._bytes = 0
        self._horizon = NO_HORIZON
        self._seen.clear()

    async def cached(self, key: Key) -> Tile | None:
        """The tile at `key` if the cache holds it, holding every write that had returned
        when this call began (as `tile`); None if it is not cached, and none is counted
        as a miss: the caller then asks `tile`, which renders it."""
        reads = self._state.reads
        if reads.replicas and FROM_PRIMARY.get():
            return None  # a caller who just wrote: `tile` answers from the primary
        if reads.epoch != self._epoch:
            self._start_over(reads.epoch)
        if key not in self._tiles or self._horizon == NO_HORIZON:
            return None
        await self.sync()
        found = self._current_tile(key)
        if found is not None:
            self.hits += 1
            self._tiles.move_to_end(key)
        return found

    def get(self, key: Key) -> Tile | None:
        tile = self._current_tile(key)
        if tile is None:
            self.misses += 1
            return None
        self.hits += 1
        self._tiles.move_to_end(key)
        return tile

    def _current_tile(self, key: Key) -> Tile | None:
        """The cached tile, unless what it shows has gone stale by time since its render."""
        tile = self._tiles.get(key)
        if tile is not None and tile.until is not None and tile.until <= time.time():
            self._drop(key)
            return None
        return tile

    async def fill(self, key: Key, render: Callable[[], Awaitable[Rendered]]) -> Tile:
        """Renders a missing tile, once for all the requests that want it meanwhile: a
        request joins a render under way unless a change to the tile was applied since
        that render began (its snapshot may then miss a write the request must see)."""
        pending = self._rendering.get(key)
        if pending is None or self._changed_since(key, pending[0]):
            since = self.generation
            pending = self._rendering[key] = (
                since,
                asyncio.ensure_future(self._store(key, render(), since)),
            )

            def forget(_: asyncio.Future, started: tuple = pending) -> None:
                if self._rendering.get(key) is started:
                    del self._rendering[key]

            pending[1].add_done_callback(forget)
        return await asyncio.shield(pending[1])

    async def _store(self, key: Key, render: Awaitable[Rendered], since: int) -> Tile:
        body, until = await render
        return self.put(key, body, since, until=until)

    def put(
        self, key: Key, body: bytes, rendered_since: int, *, until: float | None = None
    ) -> Tile:
        """Stores a tile rendered from a snapshot taken after generation `rendered_since`,
        unless a change applied since then touches it."""
        tile = tile_of(body, until)
        if not self._changed_since(key, rendered_since):
            self._drop(key)
            self._tiles[key] = tile
            self._bytes += len(body)
            while self._bytes > self._max_bytes:
                self._drop(next(iter(self._tiles)))
        return tile

    def _changed_since(self, key: Key, generation: int) -> bool:
        if generation < self._forgotten:
            return True
        since = takewhile(lambda entry: entry[0] > generation, reversed(self._recent))
        return any(change is EVERYTHING or change.touches(key) for _, change in since)

    def _drop(self, key: Key) -> None:
        tile = self._tiles.pop(key, None)
        if tile is not None:
            self._bytes -= len(tile.body)
