"""Alert changes as Server-Sent Events. Every worker process keeps one connection that
LISTENs on the alerts channel: a message committed through any worker (or the CLI)
reaches the streams of all of them, and none polls the database. What comes with time
alone needs no message: the hub reads when the next message takes effect (a later
`effective` or `onset`) or an alert expires, and tells the streams then; it reads again
after each message and each such moment.

A worker holds at most `max_streams` streams, and a client (a key, or an address without
one) at most `per_client` over all the workers of the host (StreamCounts), so that one
client cannot take the places of everyone else. Each stream has a queue of `QUEUE`
events, and a client too slow to take them is disconnected (it reconnects and reads
/v1/alerts/active) rather than holding memory. When the server shuts down every stream
ends at once (close_streams): a stream never ends by itself, and the server waits for
open answers before it stops."""

import asyncio
import contextlib
import functools
import hashlib
import json
import logging
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

import psycopg
from sqlalchemy import make_url
from starlette.concurrency import run_in_threadpool
from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from app.alerts import repository
from app.alerts.errors import ClientStreamsExceeded, not_listening, shutting_down, too_many_streams

log = logging.getLogger(__name__)
QUEUE = 64
HEARTBEAT_S = 15
RECONNECT_S = 1.0
_CLOSE = object()
# A client's count is a row of the table, found by a hash of the client: two clients of
# one row (one in CLIENT_ROWS) share a bound.
CLIENT_ROWS = 1 << 16


def conninfo(sqlalchemy_url: str) -> str:
    return (
        make_url(sqlalchemy_url).set(drivername="postgresql").render_as_string(hide_password=False)
    )


class StreamCounts:
    """Open streams per client, over the worker processes of a host: a column of counts
    per worker, a row per client, in a buffer `rf serve` shares between the workers
    (app.serving); in-process (tests, one uvicorn) a buffer of its own. A worker writes
    its own column only, from its event loop's thread, so nothing is locked: two workers
    opening a client's streams at the very same moment may both grant the last place,
    one stream more than the bound at worst. A worker clears its column as it starts, so
    that the streams of one that died count no more."""

    def __init__(self, buffer: Any = None, *, columns: int = 1, column: int = 0) -> None:
        cells = memoryview(buffer if buffer is not None else new_counts_buffer(columns))
        self.cells = cells.cast("B").cast("i")
        if len(self.cells) != CLIENT_ROWS * columns or not 0 <= column < columns:
            raise ValueError(f"a stream count table holds {CLIENT_ROWS} ints a column")
        self.columns, self.column = columns, column
        self.cells[column * CLIENT_ROWS : (column + 1) * CLIENT_ROWS] = _zeros()

    def held(self, client: str) -> int:
        row = _row(client)
        return sum(self.cells[c * CLIENT_ROWS + row] for c in range(self.columns))

    def add(self, client: str, n: int) -> None:
        self.cells[self.column * CLIENT_ROWS + _row(client)] += n


def new_counts_buffer(columns: int = 1) -> bytearray:
    return bytearray(CLIENT_ROWS * columns * 4)


@functools.cache
def _zeros() -> memoryview:
    return memoryview(bytearray(CLIENT_ROWS * 4)).cast("i")


def _row(client: str) -> int:
    # Not hash(): each worker process salts it differently.
    digest = hashlib.blake2b(client.encode(), digest_size=8).digest()
    return int.from_bytes(digest) % CLIENT_ROWS


class AlertHub:
    def __init__(
        self,
        dsn: str,
        *,
        max_streams: int,
        per_client: int,
        coming: Callable[[], list[tuple[datetime, dict[str, Any]]]],
        counts: StreamCounts | None = None,
    ) -> None:
        self.dsn = dsn
        self.max_streams = max_streams
        self.per_client = per_client
        self.counts = counts or StreamCounts()
        self.closing = False
        # (when, event) of the changes that come with time alone, soonest first
        self.coming = coming
        self.streams: set[asyncio.Queue[Any]] = set()
        self.listening = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self.sequence = 0

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._listen())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._timer is not None:
            self._timer.cancel()
        self.close_streams()

    def close_streams(self) -> None:
        """Ends every stream now, and takes no more: the server is shutting down."""
        self.closing = True
        for queue in list(self.streams):
            _offer(queue, _CLOSE, force=True)

    async def ready(self, timeout_s: float = 10) -> None:
        """Waits until the hub listens: from then on, every committed change reaches it."""
        try:
            async with asyncio.timeout(timeout_s):
                await self.listening.wait()
        except TimeoutError:
            raise not_listening() from None

    @contextlib.asynccontextmanager
    async def subscription(self, client: str) -> AsyncIterator[asyncio.Queue[Any]]:
        """A stream for `client` (its key, or its address), within the bounds."""
        if self.closing:
            raise shutting_down()
        if len(self.streams) >= self.max_streams:
            raise too_many_streams(self.max_streams)
        if self.counts.held(client) >= self.per_client:
            raise ClientStreamsExceeded(self.per_client)
        self.start()
        queue: asyncio.Queue[Any] = asyncio.Queue(QUEUE)
        self.streams.add(queue)
        self.counts.add(client, 1)
        try:
            yield queue
        finally:
            self.streams.discard(queue)
            self.counts.add(client, -1)

    def publish(self, payload: dict[str, Any]) -> None:
        self.sequence += 1
        frame = (
            f"id: {self.sequence}\nevent: alert\n"
            f"data: {json.dumps(payload, ensure_ascii=False)}\n\n"
        ).encode()
        for queue in list(self.streams):
            if not _offer(queue, frame):
                # Too slow: its stream ends, the others go on.
                self.streams.discard(queue)
                _offer(queue, _CLOSE, force=True)

    async def _listen(self) -> None:
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(
                    self.dsn, autocommit=True
                ) as connection:
                    await connection.execute(f"LISTEN {repository.CHANNEL}")
                    self.listening.set()
                    await self._schedule()
                    async for note in connection.notifies():
                        payload = json.loads(note.payload)
                        self.publish(payload)
                        await self._schedule()
            except asyncio.CancelledError:
                raise
            except (psycopg.Error, OSError) as exc:
                # A database restart: listen again; streams learn what they missed from
                # /v1/alerts/active, which a client reads on (re)connecting.
                self.listening.clear()
                log.warning("alert listener lost its connection: %s", exc)
                await asyncio.sleep(RECONNECT_S)

    async def _schedule(self) -> None:
        coming = await run_in_threadpool(self.coming)
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if not coming:
            return
        first = coming[0][0]
        events = [payload for at, payload in coming if at == first]
        # A little late rather than early: the change must have happened when streams hear it.
        delay = max(0.0, (first - datetime.now(UTC)).total_seconds()) + 0.05
        loop = asyncio.get_running_loop()
        self._timer = loop.call_later(delay, self._arrive, events)

    def _arrive(self, events: list[dict[str, Any]]) -> None:
        for payload in events:
            self.publish(payload)
        self._timer = None
        asyncio.get_running_loop().create_task(self._schedule())


def _offer(queue: asyncio.Queue[Any], item: Any, *, force: bool = False) -> bool:
    if force:
        while queue.full():
            queue.get_nowait()
    try:
        queue.put_nowait(item)
    except asyncio.QueueFull:
        return False
    return True


async def frames(
    queue: asyncio.Queue[Any], *, is_disconnected: Callable[[], Any]
) -> AsyncIterator[bytes]:
    # A comment first, so that the client knows at once that the stream is open.
    yield b": listening\nretry: 3000\n\n"
    while True:
        try:
            item = await asyncio.wait_for(queue.get(), HEARTBEAT_S)
        except TimeoutError:
            if await is_disconnected():
                return
            yield b": keep-alive\n\n"
            continue
        if item is _CLOSE:
            return
        yield item


class EventStream(StreamingResponse):
    """The answer of a stream: its frames, and the end of its subscription when the answer
    ends, however it ends, even cancelled (the client gone) before its first frame, when
    the frames' own `finally` would never run and the client's place would stay taken."""

    media_type = "text/event-stream"

    def __init__(
        self, queue: asyncio.Queue[Any], subscription: Any, *, is_disconnected: Callable[[], Any]
    ) -> None:
        super().__init__(
            frames(queue, is_disconnected=is_disconnected),
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )
        self.subscription = subscription

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            await self.subscription.__aexit__(None, None, None)
