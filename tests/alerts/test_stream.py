"""GET /v1/alerts/stream on the real server (`rf serve`, two workers): a message posted
through either worker reaches the streams held by both, through PostgreSQL's
LISTEN/NOTIFY; expiry and changes posted ahead of their time are told without a message.
The bounds on streams, per worker and per client; streams end when the server stops."""

import asyncio
import json
import queue
import signal
import subprocess
import threading
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from app.accounts import service as accounts
from app.accounts.gate import Limits, traffic_class
from app.accounts.schemas import ApiKeyCreate
from app.alerts.errors import ClientStreamsExceeded, StreamsUnavailable
from app.alerts.stream import AlertHub, StreamCounts, frames, new_counts_buffer
from app.config import Settings
from tests.alerts.cap_samples import message, reference
from tests.conftest import run_migrations
from tests.live import Server, wait_for, workers
from tests.test_serving import ESTABLISHED, sockets

# Bounds on waiting, so that a broken stream fails the test instead of hanging it.
WAIT_S = 60


def registry(make_database) -> tuple[str, str]:
    """A migrated database and the key of an alert authority."""
    url = make_database()
    engine = create_engine(Settings(database_url=url).sqlalchemy_url)
    with engine.begin() as connection:
        run_migrations(connection)
    with Session(engine) as session:
        key = accounts.create_key(
            session, ApiKeyCreate(name="sirens", role="alert_authority"), actor="test"
        )
        session.commit()
    engine.dispose()
    return url, key.secret


@pytest.fixture(scope="module")
def server(make_database, tmp_path_factory):
    url, key = registry(make_database)
    # These tests open dozens of streams from one address, to reach both workers.
    env = {"RF_ALERT_STREAMS_PER_CLIENT": "50", "RF_STREAM_BURST": "50"}
    server = Server(url, env, tmp_path_factory.mktemp("stream"))
    yield server, key
    server.stop()


class Stream:
    """One open stream, read by a thread into a queue of events."""

    def __init__(self, base: str, **headers: str) -> None:
        self.events: queue.Queue = queue.Queue()
        self.opened = threading.Event()
        self.ended = threading.Event()  # its answer came to its end, whole
        self.error: Exception | None = None
        self.client = httpx.Client(timeout=httpx.Timeout(5, read=WAIT_S), headers=headers)
        self.thread = threading.Thread(target=self._read, args=(base,), daemon=True)
        self.thread.start()
        assert self.opened.wait(WAIT_S), "the stream did not open"

    def _read(self, base: str) -> None:
        try:
            with self.client.stream("GET", f"{base}/v1/alerts/stream") as response:
                self.status = response.status_code
                self.content_type = response.headers.get("content-type", "")
                for line in response.iter_lines():
                    if line.startswith(": listening"):
                        self.opened.set()
                    elif line.startswith("data: "):
                        self.events.put(json.loads(line[6:]))
            self.ended.set()
        except httpx.HTTPError as exc:
            self.error = exc
        finally:
            self.opened.set()

    def next(self) -> dict:
        return self.events.get(timeout=WAIT_S)

    def close(self) -> None:
        self.client.close()


def post(base: str, key: str, body: bytes) -> dict:
    response = httpx.post(
        f"{base}/v1/alerts",
        content=body,
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/xml"},
        timeout=30,
    )
    assert response.status_code == 201, response.text
    return response.json()


def test_every_worker_streams_what_any_worker_stored(server):
    live, key = server
    pids = workers(live.process.pid)
    streams: list[Stream] = []
    # Open streams until both workers hold some: the kernel deals connections by hash.
    while len(streams) < 40 and not all(sockets(pid, live.port, ESTABLISHED) for pid in pids):
        streams.append(Stream(live.base))
    assert all(sockets(pid, live.port, ESTABLISHED) for pid in pids)
    try:
        assert streams[0].content_type.startswith("text/event-stream")
        sent = datetime.now(UTC) - timedelta(minutes=1)
        alert = post(live.base, key, message("SSE-1", sent=sent))
        for stream in streams:
            event = stream.next()
            assert (event["change"], event["id"], event["identifier"]) == (
                "alert",
                alert["id"],
                "SSE-1",
            )
            assert event["air_raid"] and not event["drill"]
        cancel = post(
            live.base, key, message("SSE-2", msg_type="Cancel", references=reference("SSE-1", sent))
        )
        for stream in streams:
            event = stream.next()
            assert (event["change"], event["id"], event["ended"]) == (
                "cancel",
                cancel["id"],
                [alert["id"]],
            )
    finally:
        for stream in streams:
            stream.close()


def test_expiry_is_streamed_without_a_message(server):
    live, key = server
    stream = Stream(live.base)
    try:
        expires = (datetime.now(UTC) + timedelta(seconds=3)).replace(microsecond=0)
        alert = post(live.base, key, message("SSE-3", expires=expires))
        assert stream.next()["change"] == "alert"
        event = stream.next()
        assert (event["change"], event["id"]) == ("expired", alert["id"])
        # Told once it has expired, never before.
        assert datetime.now(UTC) >= expires
        active = httpx.get(f"{live.base}/v1/alerts/active", timeout=10).json()["items"]
        assert alert["id"] not in [a["id"] for a in active]
    finally:
        stream.close()


def test_an_alert_to_come_is_streamed_when_it_takes_effect_and_when_it_expires(server):
    live, key = server
    stream = Stream(live.base)
    try:
        start = (datetime.now(UTC) + timedelta(seconds=3)).replace(microsecond=0)
        expires = start + timedelta(seconds=2)
        alert = post(live.base, key, message("SSE-4", onset=start, expires=expires))
        assert not alert["in_force"]
        posted = stream.next()
        assert (posted["change"], posted["id"]) == ("alert", alert["id"])
        assert datetime.fromisoformat(posted["effective_at"]) == start
        event = stream.next()
        assert (event["change"], event["id"], event["identifier"]) == (
            "effective",
            alert["id"],
            "SSE-4",
        )
        assert event["air_raid"] and not event["drill"]
        # Told once it is in force, never before.
        assert datetime.now(UTC) >= start
        active = httpx.get(f"{live.base}/v1/alerts/active", timeout=10).json()["items"]
        assert alert["id"] in [a["id"] for a in active]
        event = stream.next()
        assert (event["change"], event["id"], event["ended"]) == (
            "expired",
            alert["id"],
            [alert["id"]],
        )
        assert datetime.now(UTC) >= expires
    finally:
        stream.close()


def test_an_alert_cancelled_before_its_time_never_takes_effect(server):
    live, key = server
    stream = Stream(live.base)
    try:
        # a margin for a busy machine: the cancel must come before this
        soon = (datetime.now(UTC) + timedelta(seconds=10)).replace(microsecond=0)
        sent = datetime.now(UTC) - timedelta(seconds=5)
        cancelled = post(live.base, key, message("SSE-5", effective=soon, sent=sent))
        post(
            live.base, key, message("SSE-6", msg_type="Cancel", references=reference("SSE-5", sent))
        )
        # a later alert marks the moment the cancelled one would have taken effect
        later = post(live.base, key, message("SSE-7", effective=soon + timedelta(seconds=2)))
        changes = [(e["change"], e["id"]) for e in (stream.next() for _ in range(4))]
        assert changes[-1] == ("effective", later["id"])
        assert ("effective", cancelled["id"]) not in changes
    finally:
        stream.close()


def active(base: str) -> tuple[datetime, list[int]]:
    answer = httpx.get(f"{base}/v1/alerts/active", timeout=10).json()
    return datetime.fromisoformat(answer["generated_at"]), [a["id"] for a in answer["items"]]


def test_an_update_ahead_of_its_time_takes_over_when_it_takes_effect(server):
    live, key = server
    stream = Stream(live.base)
    try:
        sent = datetime.now(UTC) - timedelta(minutes=1)
        first = post(live.base, key, message("SSE-8", sent=sent))
        # a margin for a busy machine: the update is stored and the state read before this
        at = (datetime.now(UTC) + timedelta(seconds=15)).replace(microsecond=0)
        update = post(
            live.base,
            key,
            message("SSE-9", msg_type="Update", sent=at, references=reference("SSE-8", sent)),
        )
        assert update["ended"] == [first["id"]] and not update["in_force"]
        assert (stream.next()["change"], stream.next()["change"]) == ("alert", "update")
        # Until then the alert it updates stays in force.
        generated, ids = active(live.base)
        assert generated < at and first["id"] in ids and update["id"] not in ids
        event = stream.next()
        assert (event["change"], event["id"], event["ended"]) == (
            "effective",
            update["id"],
            [first["id"]],
        )
        # Told once it has taken over, never before.
        assert datetime.now(UTC) >= at
        generated, ids = active(live.base)
        assert update["id"] in ids and first["id"] not in ids
    finally:
        stream.close()


HOME = "address 10.0.0.1"


def hub_of(*, max_streams: int = 10, per_client: int = 10) -> AlertHub:
    return AlertHub(
        "postgresql://nobody@/nowhere?host=/nonexistent",
        max_streams=max_streams,
        per_client=per_client,
        coming=list,
    )


def test_a_worker_holds_a_bounded_number_of_streams():
    async def run() -> None:
        hub = hub_of(max_streams=2)
        try:
            async with hub.subscription(HOME), hub.subscription("key 7"):
                with pytest.raises(StreamsUnavailable) as refused:
                    async with hub.subscription("address 10.0.0.2"):
                        pass
                assert refused.value.status == 503
            # Closed streams free their places.
            async with hub.subscription(HOME):
                assert len(hub.streams) == 1
        finally:
            await hub.stop()

    asyncio.run(run())


def test_a_slow_stream_is_dropped_not_the_others():
    async def run() -> None:
        hub = hub_of(max_streams=5)
        try:
            async with hub.subscription(HOME) as slow, hub.subscription(HOME) as quick:
                for n in range(100):
                    hub.publish({"n": n})
                    if not quick.empty():
                        quick.get_nowait()
                assert slow not in hub.streams and quick in hub.streams
        finally:
            await hub.stop()

    asyncio.run(run())


def test_streams_have_a_traffic_class_of_their_own():
    assert traffic_class("GET", "/v1/alerts/stream") == "stream"
    assert traffic_class("GET", "/v1/alerts/active") == "read"
    limits = Limits.of(Settings(database_url="unused", stream_rate_per_minute=7, stream_burst=2))
    assert limits.anonymous["stream"].burst == 2


def test_waiting_for_the_listener_is_bounded():
    async def run() -> None:
        hub = hub_of(max_streams=2)
        try:
            hub.start()
            with pytest.raises(StreamsUnavailable):
                await hub.ready(timeout_s=0.2)
        finally:
            await hub.stop()

    asyncio.run(run())


def test_a_client_holds_a_bounded_number_of_streams_of_a_worker():
    async def run() -> None:
        hub = hub_of(per_client=2)
        try:
            async with hub.subscription(HOME), hub.subscription(HOME):
                with pytest.raises(ClientStreamsExceeded) as refused:
                    async with hub.subscription(HOME):
                        pass
                assert refused.value.status == 429 and refused.value.retry_after
                assert "2 open alert streams" in refused.value.detail
                # Other clients are served meanwhile.
                async with hub.subscription("key 7"), hub.subscription("address 10.0.0.2"):
                    assert len(hub.streams) == 4
            async with hub.subscription(HOME), hub.subscription(HOME):
                assert hub.counts.held(HOME) == 2
            assert hub.counts.held(HOME) == 0
        finally:
            await hub.stop()

    asyncio.run(run())


def test_the_workers_of_a_host_count_a_clients_streams_together():
    buffer = new_counts_buffer(2)
    first = StreamCounts(buffer, columns=2, column=0)
    second = StreamCounts(buffer, columns=2, column=1)
    first.add(HOME, 2)
    second.add(HOME, 1)
    assert first.held(HOME) == second.held(HOME) == 3
    assert first.held("address 10.0.0.2") == 0
    # A worker started in the place of the second (which died) forgets its streams only.
    StreamCounts(buffer, columns=2, column=1)
    assert first.held(HOME) == 2


def test_closing_the_streams_ends_them_and_takes_no_more():
    async def run() -> None:
        hub = hub_of()
        try:
            async with hub.subscription(HOME) as stream:

                async def never() -> bool:
                    return False

                read = frames(stream, is_disconnected=never)
                assert (await anext(read)).startswith(b": listening")
                hub.close_streams()
                assert [frame async for frame in read] == []
            with pytest.raises(StreamsUnavailable):
                async with hub.subscription(HOME):
                    pass
        finally:
            await hub.stop()

    asyncio.run(run())


def opening(base: str, **headers: str) -> tuple[int, httpx.Headers, dict | None]:
    """Opens a stream and closes it at once: its status, headers, and problem if refused."""
    with httpx.stream("GET", f"{base}/v1/alerts/stream", headers=headers, timeout=10) as answer:
        problem = None if answer.status_code == 200 else json.loads(answer.read())
        return answer.status_code, answer.headers, problem


def test_a_client_holds_a_bounded_number_of_streams_over_the_workers(
    make_database, tmp_path_factory
):
    url, key = registry(make_database)
    env = {"RF_ALERT_STREAMS_PER_CLIENT": "3", "RF_STREAM_BURST": "100"}
    live = Server(url, env, tmp_path_factory.mktemp("bounded"))
    streams = []
    try:
        # The kernel deals them to either worker: the bound holds for the host.
        streams = [Stream(live.base) for _ in range(3)]
        assert [s.status for s in streams] == [200, 200, 200]
        status, headers, problem = opening(live.base)
        assert status == 429, problem
        assert headers["content-type"].startswith("application/problem+json")
        assert headers["retry-after"] == "5"
        assert problem["type"] == "/problems/too-many-streams"
        assert "3 open alert streams" in problem["detail"]
        assert "RF_ALERT_STREAMS_PER_CLIENT" in problem["detail"]
        # Another client (here a key on the same address) is served meanwhile.
        assert opening(live.base, Authorization=f"Bearer {key}")[0] == 200
        # Closing a stream frees its place (once the server sees the connection go: each
        # probe opens and closes one too, so the probing waits rather than asserts twice).
        streams.pop().close()
        wait_for(lambda: opening(live.base)[0] == 200, "a closed stream kept its place", WAIT_S)
    finally:
        for stream in streams:
            stream.close()
        live.stop()


def test_a_server_shutting_down_ends_its_streams(make_database, tmp_path_factory):
    url, _ = registry(make_database)
    live = Server(url, {}, tmp_path_factory.mktemp("shutdown"))
    try:
        stream = Stream(live.base)
        assert stream.status == 200
        live.process.send_signal(signal.SIGTERM)
        # A bound on waiting, not on speed: without it the server waited for ever.
        try:
            live.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            pytest.fail("the server did not stop while a stream was open")
        assert live.process.returncode == 0
        # The client saw its answer end whole, not a connection cut.
        assert stream.ended.wait(WAIT_S), stream.error
        assert stream.error is None
    finally:
        if live.process.poll() is None:
            live.process.kill()
            live.process.wait()
