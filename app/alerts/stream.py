"""Alert changes as Server-Sent Events. Every worker process keeps one connection that
LISTENs on the alerts channel: a message committed through any worker (or the CLI)
reaches the streams of all of them, and none polls the database. What comes with time
alone needs no message: the hub reads when the next alert takes effect (a later
`effective` or `onset`) or expires, and tells the streams then; it reads again after each
message and each such moment.

A worker holds at most `max_streams` streams; each has a queue of `QUEUE` events, and a
client too slow to take them is disconnected (it reconnects and reads /v1/alerts/active)
rather than holding memory."""

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

import psycopg
from sqlalchemy import make_url
from starlette.concurrency import run_in_threadpool

from app.alerts import repository
from app.alerts.errors import not_listening, too_many_streams

log = logging.getLogger(__name__)
QUEUE = 64
HEARTBEAT_S = 15
RECONNECT_S = 1.0
_CLOSE = object()


def conninfo(sqlalchemy_url: str) -> str:
    return (
        make_url(sqlalchemy_url).set(drivername="postgresql").render_as_string(hide_password=False)
    )


class AlertHub:
    def __init__(
        self,
        dsn: str,
        *,
        max_streams: int,
        coming: Callable[[], list[tuple[datetime, dict[str, Any]]]],
    ) -> None:
        self.dsn = dsn
        self.max_streams = max_streams
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
        for queue in list(self.streams):
            _offer(queue, _CLOSE)

    async def ready(self, timeout_s: float = 10) -> None:
        """Waits until the hub listens: from then on, every committed change reaches it."""
        try:
            async with asyncio.timeout(timeout_s):
                await self.listening.wait()
        except TimeoutError:
            raise not_listening() from None

    @contextlib.asynccontextmanager
    async def subscription(self) -> AsyncIterator[asyncio.Queue[Any]]:
        if len(self.streams) >= self.max_streams:
            raise too_many_streams(self.max_streams)
        self.start()
        queue: asyncio.Queue[Any] = asyncio.Queue(QUEUE)
        self.streams.add(queue)
        try:
            yield queue
        finally:
            self.streams.discard(queue)

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
