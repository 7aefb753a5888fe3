"""`rf serve`: the API in one or more processes, each listening on a socket of its own.

Workers bind the port with SO_REUSEPORT, so that the kernel spreads new connections
between them. With one socket shared by every worker (`uvicorn --workers`), the process
that wakes first takes a whole burst of connections, and the busy process's requests wait
far longer than the other's (figures in docs/performance.md).

The supervisor restarts a worker that dies, stops every worker on SIGINT or SIGTERM, and
gives up when a worker cannot start (the port is taken, the settings are wrong). A worker
whose supervisor is gone (killed with SIGKILL, say) stops itself, so that no orphan keeps
serving the port.

On SIGTERM a worker stops taking connections, ends its alert streams at once (Server),
and waits at most RF_SHUTDOWN_GRACE_S for the other answers in progress.

The kernel deals each connection to a worker by a hash of its addresses, and keep-alive
clients stay where they land, often unevenly; with the CPU shared evenly the busier
worker's requests wait the longer. So a worker holding two connections more than the
least busy one closes one after its response (`Connection: close`, see Balance); the
client reconnects, and the kernel deals again."""

import asyncio
import json
import logging
import multiprocessing
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, MutableSequence
from multiprocessing.connection import wait
from multiprocessing.process import BaseProcess
from types import FrameType
from typing import Any

import uvicorn
from uvicorn.config import STARTUP_FAILURE
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from app.accounts.ratelimit import FIELDS, SLOTS
from app.alerts.stream import CLIENT_ROWS, StreamCounts
from app.config import Settings
from app.main import create_app

logger = logging.getLogger("uvicorn.error")


class CannotListen(Exception):
    pass


def default_workers() -> int:
    """One worker per core this process may run on (its CPU affinity, as a container's
    cpuset gives it)."""
    return len(os.sched_getaffinity(0))


def serve(*, host: str, port: int, workers: int, access_log: bool) -> int:
    """Serves until stopped; the exit status. Even a single worker runs under the
    supervisor, which replaces it when it dies."""
    # SO_REUSEPORT would let these workers share the port with another server of the same
    # user, which would then answer part of the requests: a plain bind first says whether
    # anything listens there.
    try:
        _listener(host, port, reuse_port=False).close()
    except OSError as exc:
        raise CannotListen(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    spawn = multiprocessing.get_context("spawn")
    # How many connections each worker holds, as each last counted them, the rate-limit
    # buckets of every worker (accounts.ratelimit) and the alert streams each client holds
    # on each worker (alerts.stream.StreamCounts): shared memory.
    connections = spawn.Array("i", workers, lock=False)
    rate_table = spawn.RawArray("d", SLOTS * FIELDS)
    stream_table = spawn.RawArray("i", CLIENT_ROWS * workers)

    def start(slot: int) -> BaseProcess:
        process = spawn.Process(
            target=_worker,
            args=(host, port, access_log, connections, slot, rate_table, stream_table),
            name="rf-worker",
        )
        process.start()
        return process

    running = {start(slot): slot for slot in range(workers)}  # process: its slot
    status = 0
    stopping = False

    def stop(signum: int | None = None, frame: FrameType | None = None) -> None:
        nonlocal stopping
        stopping = True
        for process in running:
            if process.is_alive():
                process.terminate()  # SIGTERM: uvicorn's graceful shutdown

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    while running:
        wait([process.sentinel for process in running])
        for ended in [process for process in running if not process.is_alive()]:
            slot = running.pop(ended)
            if stopping:
                continue
            if ended.exitcode == STARTUP_FAILURE:
                status = STARTUP_FAILURE
                stop()
            else:
                logger.warning("worker %s ended (%s); starting another", ended.pid, ended.exitcode)
                running[start(slot)] = slot
    return status


def _listener(host: str, port: int, *, reuse_port: bool) -> socket.socket:
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuse_port:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


def _worker(
    host: str,
    port: int,
    access_log: bool,
    connections: MutableSequence[int],
    slot: int,
    rate_table: Any,
    stream_table: Any,
) -> None:
    threading.Thread(target=_stop_without, args=(os.getppid(),), daemon=True).start()
    settings = Settings()
    proxies = settings.trusted_proxies
    app = create_app(
        settings,
        rate_table=rate_table,
        stream_counts=StreamCounts(stream_table, columns=len(connections), column=slot),
    )
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        access_log=access_log,
        # Names no server software to callers; Date stays (RFC 9110 §6.6.1), made by
        # uvicorn once a second, not per answer.
        server_header=False,
        http=HeadLimit.for_settings(settings),
        # uvicorn would otherwise believe X-Forwarded-For from 127.0.0.1 whatever the
        # settings say: a local client could pick its own rate-limit bucket.
        proxy_headers=bool(proxies),
        forwarded_allow_ips=proxies,
        timeout_graceful_shutdown=settings.shutdown_grace_s,
    )
    try:
        sock = _listener(host, port, reuse_port=True)
    except OSError as exc:
        logger.error("cannot listen on %s:%s: %s", host, port, exc.strerror)
        sys.exit(STARTUP_FAILURE)
    server = Server(config, closing=app.state.alert_hub.close_streams)
    config.load()
    connections[slot] = 0
    config.loaded_app = Balance(
        config.loaded_app, server.server_state.connections, connections, slot
    )
    server.run(sockets=[sock])


class Server(uvicorn.Server):
    """uvicorn's server, which ends the alert streams as it begins to shut down: it waits
    for every answer in progress before it stops, and a stream never ends by itself. The
    app's lifespan shutdown comes only after that wait, too late to end them."""

    def __init__(self, config: uvicorn.Config, *, closing: Callable[[], None]) -> None:
        super().__init__(config)
        self.closing = closing

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        # Runs before uvicorn's own shutdown reaches its first await: by the time the
        # streams' frames run again, every connection is marked to close after its
        # answer, so a stream's client sees its answer end, then the connection close.
        self.closing()
        await super().shutdown(sockets)


class HeadTooLarge(Exception):
    pass


class HeadLimit(HttpToolsProtocol):
    """uvicorn's httptools protocol, bounding each request's line and headers (its head)
    in size and in time.

    Size: more than `max_bytes` is refused with 431. httptools sets no bound of its own:
    it would gather a header of any size in memory. The reads that hold nothing but an
    incomplete head are counted, so that one endless header is cut off after a read or two
    instead of being gathered whole; a complete head is measured exactly when it came in
    more than one read (the read it began in may also hold the request before it, so it is
    not counted) or in one read larger than `max_bytes`, which an ordinary head is not.
    That measure is of the head as parsed: the blanks that end a header's value, which
    uvicorn strips before this sees it, escape it. A per-header count would see them, at
    a call per header on every request; what they can add is bounded by one read (uvloop
    reads at most 256 KB), which is also all the memory they take.

    Time: a connection's first head not complete within `timeout_s` of the connection's
    opening, or a later head within `timeout_s` of its first byte, is answered 408 and the
    connection closed. uvicorn times out idle keep-alive connections only, so a client
    trickling a header line every few seconds would otherwise hold a connection (and a
    file descriptor) for ever. One sweep over the process's connections every `sweep_s`
    finds the late heads (so a head is cut off between `timeout_s` and `timeout_s +
    sweep_s`): a timer set and cancelled per request cost every request more than the
    sweep costs the process (docs/performance.md).

    While an answer is still owed on the connection (a pipelined head behind a request in
    progress), a refusal written at once would land inside that answer, or be taken for
    it: a late head waits for the answer (the client is not the slow one), and a head too
    large closes the connection after it, unanswered."""

    max_bytes = 16384
    timeout_s = 15.0

    @classmethod
    def for_settings(cls, settings: Settings) -> type["HeadLimit"]:
        bounds = {"max_bytes": settings.max_header_bytes, "timeout_s": settings.header_timeout_s}
        return type("HeadLimit", (cls,), bounds)

    @property
    def sweep_s(self) -> float:
        return min(1.0, self.timeout_s / 4)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.head_began: float | None = None  # the loop's time a head under way began
        self.head_bytes = 0  # read for that head in reads holding nothing else
        self.head_split = False  # that head came in more than one read
        self.head_new = False  # a head began in the read being parsed
        self.reading = 0  # the size of the read being parsed
        self.head_size = 0  # its line and headers, when measured

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.head_began = self.loop.time()  # a fresh connection owes a head
        state = self.server_state
        if not getattr(state, "sweeping_heads", False):
            state.sweeping_heads = True  # type: ignore[attr-defined]
            self.loop.call_later(self.sweep_s, _sweep_heads, state, self.loop, self.sweep_s)

    def data_received(self, data: bytes) -> None:
        began = self.head_began is not None
        self.reading, self.head_new = len(data), False
        super().data_received(data)
        if self.head_began is not None and not self.transport.is_closing():
            self.head_split = True
            if began and not self.head_new:
                # The same head before and after this read, still incomplete: all of it was head.
                self.head_bytes += len(data)
                if self.head_bytes > self.max_bytes:
                    self.head_size = self.head_bytes
                    self._refuse(431, "Request Header Fields Too Large", self._too_large)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self.head_began is None:  # else a fresh connection's: its clock runs from the opening
            self.head_began = self.loop.time()
        self.head_new = True
        self.head_bytes, self.head_split, self.head_size = 0, False, 0

    def on_headers_complete(self) -> None:
        self.head_began = None
        if self.head_split or self.reading > self.max_bytes:
            self.head_size = len(self.url) + sum(len(n) + len(v) + 4 for n, v in self.headers)
            if self.head_size > self.max_bytes:
                raise HeadTooLarge  # the parser stops, and uvicorn answers through send_400_response
        super().on_headers_complete()

    def send_400_response(self, msg: str) -> None:
        if self.head_size > self.max_bytes:
            return self._refuse(431, "Request Header Fields Too Large", self._too_large)
        super().send_400_response(msg)

    @property
    def _too_large(self) -> str:
        return f"the request line and headers may hold at most {self.max_bytes} bytes"

    def head_too_slow(self, now: float) -> None:
        late = self.head_began is not None and now - self.head_began >= self.timeout_s
        if late and not self._answer_owed:
            self.head_began = None
            detail = f"the request line and headers must arrive within {self.timeout_s:g} s"
            self._refuse(408, "Request Timeout", detail)

    @property
    def _answer_owed(self) -> bool:
        # self.cycle is the latest complete head's: answered last, after any queued before it
        return self.cycle is not None and not self.cycle.response_complete

    def _refuse(self, status: int, title: str, detail: str) -> None:
        if self.transport.is_closing():
            return
        if self._answer_owed:
            self.head_began = None
            self.cycle.keep_alive = False  # closed once that answer is sent
            self.flow.pause_reading()
            return
        body = json.dumps(
            {"type": "about:blank", "title": title, "status": status, "detail": detail}
        ).encode()
        self.transport.write(
            f"HTTP/1.1 {status} {title}\r\n".encode()
            + b"content-type: application/problem+json\r\n"
            + b"content-length: "
            + str(len(body)).encode()
            + b"\r\n"
            + b"connection: close\r\n\r\n"
            + body
        )
        self.transport.close()


def _sweep_heads(state: Any, loop: asyncio.AbstractEventLoop, every_s: float) -> None:
    """HeadLimit's clock: refuses the heads that are late, every `every_s` while the
    process holds connections."""
    if not state.connections:
        state.sweeping_heads = False  # the next connection starts it again
        return
    # the next sweep is set first, so that nothing one connection raises can stop the clock
    loop.call_later(every_s, _sweep_heads, state, loop, every_s)
    now = loop.time()
    for connection in list(state.connections):
        if isinstance(connection, HeadLimit):
            connection.head_too_slow(now)


# The counts trail the closes: a worker closing every connection it seemed to have too
# many of would close hundreds a second, and the reconnecting clients would wait.
SHED_INTERVAL_S = 0.1


class Balance:
    """ASGI middleware of a worker: records how many connections the worker holds, and
    closes the connection after this response when it holds two more than the least busy
    worker (as counted at their latest requests), once per SHED_INTERVAL_S at most."""

    def __init__(
        self, app: Any, held: set[Any], connections: MutableSequence[int], slot: int
    ) -> None:
        self.app, self.held, self.connections, self.slot = app, held, connections, slot
        self.next_shed = 0.0

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        self.connections[self.slot] = mine = len(self.held)
        if mine <= min(self.connections) + 1 or time.monotonic() < self.next_shed:
            return await self.app(scope, receive, send)
        self.next_shed = time.monotonic() + SHED_INTERVAL_S

        async def closing(message: dict) -> None:
            if message["type"] == "http.response.start":
                headers = [*message.get("headers", []), (b"connection", b"close")]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, closing)


def _stop_without(supervisor: int) -> None:
    """Stops this worker as SIGTERM does (gracefully) once its supervisor is gone."""
    while os.getppid() == supervisor:
        time.sleep(1)
    os.kill(os.getpid(), signal.SIGTERM)
