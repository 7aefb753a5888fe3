"""`rf serve` with several workers, run as ./scripts/serve runs it: each worker listens on a
socket of its own, keep-alive connections end evenly spread between them, and the
supervisor replaces a worker that dies and stops them all on SIGTERM."""

import asyncio
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest

from app.serving import Balance, HeadLimit, _sweep_heads
from tests.conftest import free_port
from tests.live import RF, STARTUP_S, wait_for, workers


def alive(pid: int) -> bool:
    """Running: not gone, nor a zombie waiting for its parent to reap it."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


LISTEN, ESTABLISHED = "0A", "01"  # states in /proc/net/tcp


def sockets(pid: int, port: int, state: str) -> int:
    """How many of `pid`'s TCP sockets on local `port` are in `state`."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except FileNotFoundError:  # closed since the listing (a worker starting up)
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    count = 0
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local_port = int(fields[1].split(":")[1], 16)
        count += local_port == port and fields[3] == state and fields[9] in inodes
    return count


def answers(base: str) -> bool:
    try:
        return httpx.get(f"{base}/healthz", timeout=1).status_code == 200
    except httpx.TransportError:
        return False


@contextmanager
def serving(settings, *, processes: int | None) -> Iterator[tuple[subprocess.Popen, int]]:
    """`rf serve` on the suite's database (migrated by the `engine` fixture) with
    `processes` workers (its default when None), until all of them listen."""
    port = free_port()
    env = {**os.environ, "DATABASE_URL": settings.database_url}
    env.pop("WEB_CONCURRENCY", None)
    if processes is not None:
        env["WEB_CONCURRENCY"] = str(processes)
    workers_wanted = processes or len(os.sched_getaffinity(0))
    process = subprocess.Popen([RF, "serve", "--port", str(port)], env=env)

    def started() -> bool:
        assert process.poll() is None, "the server exited"
        return answers(f"http://127.0.0.1:{port}")

    def listening() -> bool:
        pids = workers(process.pid)
        return len(pids) == workers_wanted and all(sockets(pid, port, LISTEN) for pid in pids)

    try:
        wait_for(started, "the server did not start", STARTUP_S)
        wait_for(listening, f"{workers_wanted} workers did not start listening", STARTUP_S)
        yield process, port
    finally:
        process.terminate()  # the workers with it, gracefully
        process.wait(timeout=30)


@pytest.fixture
def server(settings, engine) -> Iterator[tuple[subprocess.Popen, int]]:
    with serving(settings, processes=2) as running:
        yield running


def get(client: socket.socket) -> bytes:
    """One GET /healthz on a keep-alive connection: the response's head."""
    client.sendall(b"GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n")
    data = b""
    while b"\r\n\r\n" not in data:
        data += client.recv(4096)
    head, body = data.split(b"\r\n\r\n", 1)
    length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
    while len(body) < length:
        body += client.recv(4096)
    return head.lower()


def test_keep_alive_connections_end_evenly_spread(server):
    process, port = server
    pids = workers(process.pid)
    clients = [socket.create_connection(("127.0.0.1", port)) for _ in range(32)]
    closed = 0
    try:
        deadline = time.monotonic() + 20
        while True:
            for i, client in enumerate(clients):
                if b"connection: close" in get(client):
                    client.close()
                    clients[i] = socket.create_connection(("127.0.0.1", port))
                    closed += 1
            per_worker = [sockets(pid, port, ESTABLISHED) for pid in pids]
            if sum(per_worker) == 32 and max(per_worker) - min(per_worker) <= 1:
                break
            assert time.monotonic() < deadline, f"still {per_worker} after {closed} closed"
    finally:
        for client in clients:
            client.close()


def test_a_worker_ahead_by_two_closes_a_connection_now_and_then():
    async def app(scope, receive, send):
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    def headers(balance: Balance) -> list:
        sent = []

        async def send(message):
            sent.append(message)

        asyncio.run(balance({"type": "http"}, None, send))
        return sent[0]["headers"]

    close = [(b"connection", b"close")]
    held, connections = set(range(5)), [0, 3]
    balance = Balance(app, held, connections, slot=0)
    assert headers(balance) == close  # 5 against 3
    assert connections == [5, 3]  # its own count, published for the others
    assert headers(balance) == []  # one a SHED_INTERVAL_S at most
    balance.next_shed = 0  # as when the interval has passed
    held.discard(0)
    assert headers(balance) == []  # 4 against 3
    connections[1] = 2
    assert headers(balance) == close  # 4 against 2


def test_the_head_sweep_goes_on_whatever_one_connection_raises():
    swept = []

    class Broken(HeadLimit):
        def __init__(self) -> None:  # no transport: the sweep is all it meets
            pass

        def head_too_slow(self, now: float) -> None:
            swept.append(now)
            raise RuntimeError("a connection in a state nobody foresaw")

    async def sweeps() -> None:
        loop = asyncio.get_running_loop()
        loop.set_exception_handler(lambda loop, context: None)
        state = SimpleNamespace(connections={Broken()}, sweeping_heads=True)
        loop.call_soon(_sweep_heads, state, loop, 0.01)
        while len(swept) < 3:
            await asyncio.sleep(0.01)

    asyncio.run(asyncio.wait_for(sweeps(), 30))


def test_a_dead_worker_is_replaced_and_sigterm_stops_them_all(server):
    process, port = server
    first = workers(process.pid)
    os.kill(min(first), signal.SIGKILL)
    wait_for(
        lambda: len(workers(process.pid) - first) == 1, "no worker replaced the dead one", STARTUP_S
    )
    assert answers(f"http://127.0.0.1:{port}")

    survivors = workers(process.pid)
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == 0
    assert not any(alive(pid) for pid in survivors)


def test_a_port_in_use_is_named_and_nothing_starts(settings):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {**os.environ, "DATABASE_URL": settings.database_url, "WEB_CONCURRENCY": "2"}
        result = subprocess.run(
            [RF, "serve", "--port", str(port)], env=env, capture_output=True, text=True, timeout=60
        )
    assert result.returncode == 1
    assert result.stderr == f"rf: cannot listen on 127.0.0.1:{port}: Address already in use\n"


def test_the_workers_of_a_killed_supervisor_stop_by_themselves(server):
    process, port = server
    orphans = workers(process.pid)
    process.kill()
    process.wait()
    wait_for(
        lambda: not any(alive(pid) for pid in orphans),
        "the workers went on without their supervisor",
        seconds=30,
    )
    assert not answers(f"http://127.0.0.1:{port}")


def test_one_worker_per_core_by_default_and_even_one_is_replaced(settings, engine):
    with serving(settings, processes=None):
        pass  # as many workers as cores started and listen
    with serving(settings, processes=1) as (process, port):
        (lone,) = workers(process.pid)
        os.kill(lone, signal.SIGKILL)
        wait_for(lambda: workers(process.pid) - {lone}, "no worker replaced the lone one")
        wait_for(
            lambda: answers(f"http://127.0.0.1:{port}"),
            "the new worker does not answer",
            STARTUP_S,
        )
