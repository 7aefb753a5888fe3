"""The drills of scripts/drill_edge, against an API served by `rf serve` with two workers.

  python scripts/bench/drill_edge.py API_URL ADMIN_KEY SUPERVISOR_PID ACCESS_LOG WORKDIR

Prints a Markdown table, a row per drill: requests sent, answers by status, how many were
5xx, the workers' resident memory (VmRSS summed over the supervisor's workers) before and
after, and what the drill showed; then the 5xx over all drills. A status of "dropped"
means a connection that ended without an answer."""

import asyncio
import itertools
import math
import os
import re
import select
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from functools import partial
from pathlib import Path
from urllib.parse import urlsplit

import httpx

MB = 1024 * 1024
HEFEI = (117.23, 31.82)
TILES = "/ogc/collections/{layer}/tiles/WebMercatorQuad"
Answers = Counter[int | str]
ESTABLISHED = "01"  # a state in /proc/net/tcp


class Edge:
    """The API under drill: its address, admin key, workers and access log."""

    def __init__(self, api: str, key: str, supervisor: int, log: Path, work: Path) -> None:
        self.api, self.key, self.supervisor, self.log, self.work = api, key, supervisor, log, work
        self.port = urlsplit(api).port or 80
        deadline = time.monotonic() + 60
        while len(self.workers()) < 2:
            if time.monotonic() > deadline:
                sys.exit("the two workers did not start")
            time.sleep(0.2)

    def workers(self) -> set[int]:
        found = set()
        children = Path(f"/proc/{self.supervisor}/task/{self.supervisor}/children")
        for pid in children.read_text().split():
            try:
                if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes():
                    found.add(int(pid))
            except FileNotFoundError:  # ended since the listing
                continue
        return found

    def rss_mb(self) -> float:
        total = 0
        for pid in self.workers():
            status = Path(f"/proc/{pid}/status").read_text()
            total += int(re.search(r"^VmRSS:\s+(\d+) kB", status, re.M)[1])
        return total / 1024

    def holder(self, client_port: int) -> int | None:
        """The worker holding the server side of our connection from `client_port`."""
        for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
            fields = line.split()
            local, remote = (int(f.split(":")[1], 16) for f in fields[1:3])
            if (local, remote, fields[3]) == (self.port, client_port, ESTABLISHED):
                inode = f"socket:[{fields[9]}]"
                break
        else:
            return None
        for pid in self.workers():
            for fd in Path(f"/proc/{pid}/fd").iterdir():
                try:
                    if os.readlink(fd) == inode:
                        return pid
                except FileNotFoundError:
                    continue
        return None


def status_of(answer: bytes) -> int | str:
    return int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/1.1 ") else "dropped"


def stream(edge: Edge, pieces: Iterable[bytes]) -> tuple[bytes, int, float]:
    """Sends the pieces of a request, reading the answer as soon as one comes: (the
    answer, bytes sent before it, the workers' largest RSS growth in MB meanwhile)."""
    before, growth, sent, answer = edge.rss_mb(), 0.0, 0, b""
    with socket.create_connection(("127.0.0.1", edge.port), timeout=10) as client:
        for piece in pieces:
            readable, writable, _ = select.select([client], [client], [], 10)
            if readable or not writable:
                break
            try:
                client.sendall(piece)
            except (BrokenPipeError, ConnectionResetError, TimeoutError):
                break
            sent += len(piece)
            if sent // (32 * MB) != (sent - len(piece)) // (32 * MB):
                growth = max(growth, edge.rss_mb() - before)
        try:
            while more := client.recv(65536):  # the server closes after its answer
                answer += more
        except (ConnectionResetError, TimeoutError):  # reset: our unread bytes were dropped
            pass
    return answer, sent, max(growth, edge.rss_mb() - before)


def upload(edge: Edge, authorization: str = "") -> tuple[Answers, str]:
    head = (
        f"POST /v1/imports?filename=x.geojson HTTP/1.1\r\nHost: 127.0.0.1\r\n{authorization}"
        "Transfer-Encoding: chunked\r\nContent-Type: application/octet-stream\r\n\r\n"
    ).encode()
    chunk = b"%x\r\n%s\r\n" % (MB, b"[" * MB)
    answer, sent, growth = stream(edge, itertools.chain([head], itertools.repeat(chunk, 600)))
    left = list(Path(edge.work, "imports").glob("rf-import-*"))
    closed = "closed" if b"connection: close" in answer.lower() else "kept open"
    files = f", {len(left)} partial file(s) left" if left else ""
    return Counter([status_of(answer)]), (
        f"{sent / MB:.0f} MB sent before the answer, connection {closed}, "
        f"RSS +{growth:.0f} MB at most{files}"
    )


def anonymous_upload(edge: Edge) -> tuple[Answers, str]:
    return upload(edge)


def admin_upload(edge: Edge) -> tuple[Answers, str]:
    return upload(edge, f"Authorization: Bearer {edge.key}\r\n")


def made_up_key(edge: Edge) -> tuple[Answers, str]:
    routes = [
        "/v1/parking/nearby?lon=117.23&lat=31.82",
        "/ogc/collections/parking/tiles/WebMercatorQuad/14/13641/6733",
        "/v1/divisions",
        "/v1/stats/signage/progress",
    ]
    with httpx.Client(base_url=edge.api, headers={"Authorization": "Bearer x"}) as client:
        answers = Counter(client.get(routes[n % len(routes)]).status_code for n in range(100))
    return answers, "no 200" if 200 not in answers else "DEFECT: a made-up key was served"


def forwarded_reports(edge: Edge) -> tuple[Answers, str]:
    facility = httpx.get(f"{edge.api}/v1/facilities", params={"limit": 1}).json()["items"][0]
    # An address of its own: the anonymous upload took a token from 127.0.0.1's bucket.
    transport = httpx.HTTPTransport(local_address="127.0.0.4")
    with httpx.Client(base_url=edge.api, transport=transport) as client:
        statuses = [
            client.post(
                f"/v1/facilities/{facility['id']}/reports",
                json={"kind": "locked"},
                headers={"X-Forwarded-For": f"198.51.100.{n}"},
            ).status_code
            for n in range(6)
        ]
    one = statuses == [201] * 5 + [429]
    return Counter(statuses), f"{'one bucket' if one else 'DEFECT'}: {statuses}"


def big_headers(edge: Edge) -> tuple[Answers, str]:
    head = b"GET /v1/divisions HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: "
    pieces = itertools.chain([head], itertools.repeat(b"a" * MB, 20), [b"\r\n\r\n"])
    answer, sent, _ = stream(edge, pieces)
    many = {f"X-H{i}": "b" * 1000 for i in range(20)}
    status = httpx.get(f"{edge.api}/v1/divisions", headers=many).status_code
    return Counter([status_of(answer), status]), (
        f"20 MB header: {status_of(answer)} after {sent / MB:.0f} MB sent; 20 × 1,000 B: {status}"
    )


def deep_population(edge: Edge) -> tuple[Answers, str]:
    answer = httpx.post(
        f"{edge.api}/v1/planning/population-layers",
        params={"name": "drill"},
        content=b"[" * 100_000,
        headers={"Authorization": f"Bearer {edge.key}", "Content-Type": "application/geo+json"},
    )
    return Counter([answer.status_code]), answer.json().get("detail", "")[:60]


def healthz(edge: Edge) -> tuple[int | str, int | None]:
    """GET /healthz on a new connection: the status, and the worker that answered."""
    try:
        with socket.create_connection(("127.0.0.1", edge.port), timeout=5) as client:
            client.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            answer = client.recv(65536)
            return status_of(answer), edge.holder(client.getsockname()[1])
    except OSError:
        return "dropped", None


def kill_worker(edge: Edge) -> tuple[Answers, str]:
    old = edge.workers()
    victim = min(old)
    os.kill(victim, signal.SIGKILL)
    started, answers = time.monotonic(), Counter()
    while time.monotonic() - started < 60:
        status, pid = healthz(edge)
        answers[status] += 1
        if pid is not None and pid not in old:
            seconds = time.monotonic() - started
            return (
                answers,
                f"worker {victim} killed; its replacement answered after {seconds:.1f} s",
            )
        time.sleep(0.02)
    return answers, f"DEFECT: worker {victim} not replaced within 60 s"


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2**z
    y = (1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n
    return int((lon + 180) / 360 * n), int(y)


def map_moves() -> Iterator[list[str]]:
    """A map user over Hefei, a move at a time: zooming in from 10 to 16 and out again,
    panning east and south a tile at a time at each zoom; each move's 4 × 3 tiles of both
    layers, and their TileJSON."""
    while True:
        for z in (*range(10, 17), *range(15, 10, -1)):
            x, y = tile_of(*HEFEI, z)
            for pan in range(3):
                tiles = [
                    f"{z}/{x - 2 + pan + dx}/{y - 1 + pan + dy}"
                    for dx in range(4)
                    for dy in range(3)
                ]
                yield [
                    f"{TILES.format(layer=layer)}/{tile}"
                    for layer in ("parking", "shelters")
                    for tile in [*tiles, "tilejson.json"]
                ]


async def browse(api: str, seconds: float) -> tuple[Answers, list[float]]:
    answers: Answers = Counter()
    latencies: list[float] = []
    limits = httpx.Limits(max_connections=6, max_keepalive_connections=6)
    async with httpx.AsyncClient(base_url=api, limits=limits, timeout=30) as browser:

        async def fetch(path: str) -> None:
            started = time.perf_counter()
            try:
                answers[(await browser.get(path)).status_code] += 1
            except httpx.TransportError:
                answers["dropped"] += 1
            latencies.append((time.perf_counter() - started) * 1000)

        start = time.monotonic()
        for move, paths in enumerate(map_moves()):
            if (wait := start + move - time.monotonic()) > 0:
                await asyncio.sleep(wait)
            if time.monotonic() - start >= seconds:
                break
            await asyncio.gather(*(fetch(path) for path in paths))
    return answers, latencies


def maplibre(edge: Edge) -> tuple[Answers, str]:
    answers, latencies = asyncio.run(browse(edge.api, 60))
    cuts = statistics.quantiles(latencies, n=100)
    verdict = "never refused" if not answers[429] else "DEFECT: a map user was refused"
    return answers, f"{verdict}; p50 {cuts[49]:.0f} ms, p99 {cuts[98]:.0f} ms"


def gdal_copy(edge: Edge, collection: str) -> tuple[Answers, str]:
    out = edge.work / f"{collection}.gpkg"
    logged = edge.log.stat().st_size
    started = time.monotonic()
    copy = subprocess.run(
        ["ogr2ogr", "-f", "GPKG", str(out), f"OAPIF:{edge.api}/ogc", collection],
        capture_output=True,
        text=True,
    )
    seconds = time.monotonic() - started
    with edge.log.open("rb") as log:
        log.seek(logged)
        answers = Counter(int(s) for s in re.findall(rb'HTTP/1.1" (\d{3}) ', log.read()))
    info = subprocess.run(["ogrinfo", "-so", str(out), collection], capture_output=True, text=True)
    found = re.search(r"Feature Count: (\d+)", info.stdout)
    return answers, (
        f"exit {copy.returncode}, {seconds:.0f} s, "
        f"{found[1] if found else 0} of {count_items(edge.api, collection)} features copied"
    )


def count_items(api: str, collection: str) -> int:
    """How many features the collection has, paged at the largest page size."""
    url, count = f"{api}/ogc/collections/{collection}/items?limit=1000", 0
    while url:
        page = httpx.get(url).json()
        count += len(page["features"])
        url = next((link["href"] for link in page["links"] if link["rel"] == "next"), None)
    return count


async def at_once(api: str, key: str, count: int) -> tuple[Answers, float]:
    answers: Answers = Counter()
    limits = httpx.Limits(max_connections=count)
    async with httpx.AsyncClient(base_url=api, limits=limits, timeout=120) as client:

        async def fetch(n: int) -> None:
            keyed = {"Authorization": f"Bearer {key}"} if n % 2 else {}
            try:
                answers[(await client.get("/v1/divisions", headers=keyed)).status_code] += 1
            except httpx.TransportError:
                answers["dropped"] += 1

        started = time.monotonic()
        await asyncio.gather(*(fetch(n) for n in range(count)))
    return answers, time.monotonic() - started


def session_burst(edge: Edge) -> tuple[Answers, str]:
    """Requests that each hold a database session, far more at once than the pool has
    connections, half of them keyed; then one more on its own."""
    answers, seconds = asyncio.run(at_once(edge.api, edge.key, 1500))
    started = time.monotonic()
    try:
        alone = httpx.get(f"{edge.api}/v1/divisions", timeout=10).status_code
    except httpx.TimeoutException:
        alone = "no answer in 10 s"
    verdict = "" if alone in (200, 429) and not answers["dropped"] else "DEFECT: "
    return answers, (
        f"{verdict}all in {seconds:.1f} s; one after: {alone} "
        f"in {(time.monotonic() - started) * 1000:.0f} ms"
    )


def main(api: str, key: str, supervisor: str, log: str, work: str) -> None:
    edge = Edge(api, key, int(supervisor), Path(log), Path(work))
    drills: list[tuple[str, Callable[[Edge], tuple[Answers, str]]]] = [
        ("1 anonymous 600 MB chunked upload", anonymous_upload),
        ("2 admin upload over the import limit", admin_upload),
        ("3 100 × `Bearer x`", made_up_key),
        ("4 six reports, six X-Forwarded-For", forwarded_reports),
        ("5 20 MB header; 20 × 1,000 B headers", big_headers),
        ("6 `[` × 100,000 population layer", deep_population),
        ("7 kill -9 of a worker", kill_worker),
        ("8 a minute of MapLibre", maplibre),
    ]
    collections = httpx.get(f"{api}/ogc/collections").json()["collections"]
    for collection in (c["id"] for c in collections):
        drills.append((f"9 ogr2ogr {collection}", partial(gdal_copy, collection=collection)))
    drills.append(("10 1,500 requests with a session at once", session_burst))
    print("| drill | requests | answers | 5xx | RSS MB before | after | outcome |")
    print("|---|---|---|---|---|---|---|")
    errors = 0
    for name, drill in drills:
        before = edge.rss_mb()
        answers, outcome = drill(edge)
        after = edge.rss_mb()
        failed = sum(
            n for status, n in answers.items() if isinstance(status, int) and status >= 500
        )
        errors += failed
        shown = " ".join(f"{status}×{n}" for status, n in sorted(answers.items(), key=str))
        print(
            f"| {name} | {answers.total()} | {shown} | {failed} | {before:.0f} | {after:.0f} "
            f"| {outcome} |",
            flush=True,
        )
    tracebacks = edge.log.read_bytes().count(b"Traceback")
    print(f"\n5xx over all drills: {errors}; tracebacks in the API's log: {tracebacks}")


if __name__ == "__main__":
    main(*sys.argv[1:])
