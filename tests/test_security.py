"""The public edge against the real server (`rf serve`, two workers) over a committed demo
registry: each hole once found is a drill here. The in-process side of the same rules is
in tests/accounts/test_ratelimit.py and tests/core/test_jsonbody.py."""

import asyncio
import re
import select
import socket
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

from app.config import Settings
from tests.live import Server, demo_registry, workers

MB = 1024 * 1024


def rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def workers_rss(server: Server) -> int:
    return sum(rss(pid) for pid in workers(server.process.pid))


@pytest.fixture(scope="module")
def registry(make_database) -> tuple[str, str]:
    return demo_registry(make_database)


def serving(registry, tmp_path_factory, env: dict[str, str]) -> Iterator[Server]:
    server = Server(registry[0], env, tmp_path_factory.mktemp("server"))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def server(registry, tmp_path_factory) -> Iterator[Server]:
    """Default limits, as the README promises them, except a small import limit."""
    yield from serving(registry, tmp_path_factory, {"RF_MAX_IMPORT_BYTES": str(50 * MB)})


@pytest.fixture(scope="module")
def strict(registry, tmp_path_factory) -> Iterator[Server]:
    """Small buckets, one trusted proxy (127.0.0.2), two seconds for a request's head."""
    env = {
        "RF_READ_BURST": "20",
        "RF_READ_RATE_PER_MINUTE": "1",
        "RF_REPORT_BURST": "3",
        "RF_TRUSTED_PROXIES": "127.0.0.2",
        "RF_HEADER_TIMEOUT_S": "2",
    }
    yield from serving(registry, tmp_path_factory, env)


def stream_upload(server: Server, head: bytes, *, total: int) -> tuple[bytes, int, int]:
    """Sends `head` and then up to `total` bytes of chunked body, a megabyte a chunk,
    reading the answer as soon as one comes: (the answer's first bytes, bytes sent, the
    workers' largest RSS growth meanwhile)."""
    before = workers_rss(server)
    growth = 0
    chunk = b"%x\r\n%s\r\n" % (MB, b"[" * MB)
    sent = 0
    answer = b""
    with socket.create_connection(("127.0.0.1", server.port)) as client:
        client.sendall(head)
        while sent < total:
            readable, writable, _ = select.select([client], [client], [], 10)
            if readable:
                answer = client.recv(65536)
                break
            assert writable, "the server neither answered nor read"
            try:
                client.sendall(chunk)
            except (BrokenPipeError, ConnectionResetError):
                break
            sent += MB
            if sent % (32 * MB) == 0:
                growth = max(growth, workers_rss(server) - before)
        client.settimeout(10)
        try:
            while more := client.recv(65536):  # the server closes after its answer
                answer += more
        except ConnectionResetError:  # closed with our unread bytes in its buffer
            pass
    return answer, sent, max(growth, workers_rss(server) - before)


def upload_head(port: int, authorization: str = "") -> bytes:
    return (
        f"POST /v1/imports?filename=drill.geojson HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"{authorization}Transfer-Encoding: chunked\r\n"
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()


def test_an_anonymous_upload_is_refused_before_its_body(server):
    answer, sent, growth = stream_upload(server, upload_head(server.port), total=600 * MB)
    assert answer.startswith(b"HTTP/1.1 401"), answer[:200]
    assert b"connection: close" in answer.lower()
    assert sent < 64 * MB  # the answer came long before the body's end
    assert growth < 64 * MB


def test_a_refused_key_or_rate_closes_an_upload_too(server):
    made_up = "Authorization: Bearer x\r\n"
    answer, sent, _ = stream_upload(server, upload_head(server.port, made_up), total=600 * MB)
    assert answer.startswith(b"HTTP/1.1 401"), answer[:200]
    assert b"connection: close" in answer.lower() and sent < 64 * MB


def test_a_head_that_trickles_in_is_cut_off(strict):
    with socket.create_connection(("127.0.0.1", strict.port)) as slow:
        started = time.monotonic()  # just after the opening, whence the server counts
        slow.sendall(b"GET /v1/divisions HTTP/1.1\r\nHost: x\r\n")
        for _ in range(3):  # a line every half second, never the blank line
            time.sleep(0.5)
            slow.sendall(b"X-Slow: 1\r\n")
        slow.settimeout(10)
        answer = slow.recv(65536)
        assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
        # about the 2 s bound: an event loop may run a timer a little early
        assert 1.9 <= time.monotonic() - started < 6
        assert slow.recv(65536) == b""  # closed
    with socket.create_connection(("127.0.0.1", strict.port)) as idle:  # sends nothing
        idle.settimeout(10)
        assert idle.recv(65536).startswith(b"HTTP/1.1 408")


def test_an_admin_upload_over_the_limit_is_cut_off_while_streaming(server, registry):
    bearer = f"Authorization: Bearer {registry[1]}\r\n"
    answer, sent, growth = stream_upload(server, upload_head(server.port, bearer), total=600 * MB)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert b"at most 52428800 bytes" in answer
    assert 50 * MB <= sent < 200 * MB
    assert growth < 64 * MB  # streamed to disk, not gathered in memory
    assert not list(server.import_dir.glob("rf-import-*"))  # and the partial file removed


def test_a_geojson_upload_sent_as_json_is_streamed_not_gathered(server, registry):
    """Sent as application/geo+json, as a GeoJSON file naturally is, an import is still
    streamed to disk: the JSON depth check holds only bodies a JSON request may be."""
    head = upload_head(server.port, f"Authorization: Bearer {registry[1]}\r\n").replace(
        b"application/octet-stream", b"application/geo+json"
    )
    chunk = b"%x\r\n%s\r\n" % (MB, b"[" * MB)
    before = workers_rss(server)
    growth = 0
    with socket.create_connection(("127.0.0.1", server.port)) as client:
        client.sendall(head)
        for sent in range(1, 46):
            client.sendall(chunk)
            if sent % 15 == 0:
                growth = max(growth, workers_rss(server) - before)
        client.sendall(b"0\r\n\r\n")
        client.settimeout(60)
        answer = client.recv(65536)
    growth = max(growth, workers_rss(server) - before)
    assert answer.startswith(b"HTTP/1.1 202"), answer[:300]
    assert growth < 32 * MB


def test_a_made_up_key_never_passes(server):
    routes = [
        "/v1/parking/nearby?lon=117.23&lat=31.82",
        "/ogc/collections/parking/tiles/WebMercatorQuad/14/13641/6733",
        "/v1/divisions",
        "/v1/stats/signage/progress",
    ]
    seen = []
    with httpx.Client(base_url=server.base, headers={"Authorization": "Bearer x"}) as made_up:
        for n in range(100):
            seen.append(made_up.get(routes[n % len(routes)]).status_code)
    assert set(seen) <= {401, 429} and seen[:4] == [401] * 4


def test_a_fresh_connections_head_is_timed_from_the_opening_not_its_first_byte(strict):
    with socket.create_connection(("127.0.0.1", strict.port)) as late:
        time.sleep(1.5)  # of the 2 s
        late.sendall(b"GET /healthz?")
        with socket.create_connection(("127.0.0.1", strict.port)) as fresh:
            fresh.setblocking(False)
            late.settimeout(0.1)
            while True:  # a byte every tenth of a second: never silent, never done
                try:
                    answer = late.recv(65536)
                    break
                except TimeoutError:
                    late.sendall(b"a")
            assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
            # refused before a connection opened as its head began, whose time is not up
            with pytest.raises(BlockingIOError):
                fresh.recv(65536)


def test_headers_over_16_kib_are_a_431(server):
    big = httpx.get(f"{server.base}/v1/divisions", headers={"X-Big": "a" * (20 * MB)})
    assert big.status_code == 431
    assert big.headers["content-type"] == "application/problem+json"
    many = {f"X-H{i}": "b" * 1000 for i in range(20)}
    assert httpx.get(f"{server.base}/v1/divisions", headers=many).status_code == 431
    fine = {f"X-H{i}": "b" * 1000 for i in range(12)}
    assert httpx.get(f"{server.base}/v1/divisions", headers=fine).status_code == 200


def raw_answer(port: int, *pieces: bytes) -> bytes:
    """The answer to a request sent in `pieces`, a pause between them (separate reads)."""
    with socket.create_connection(("127.0.0.1", port)) as connection:
        for piece in pieces:
            connection.sendall(piece)
            time.sleep(0.2)
        connection.settimeout(10)
        return connection.recv(65536)


def test_the_head_bound_counts_the_head_not_the_reads_it_came_in(server):
    # a small head and a large body in one read: the head is measured, and is small
    body = b"x" * (60 * 1024)
    head = f"POST /v1/reports HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n\r\n"
    answer = raw_answer(server.port, head.encode() + body)
    assert not answer.startswith(b"HTTP/1.1 431"), answer[:200]
    assert answer.startswith(b"HTTP/1.1 4"), answer[:200]
    # a head over the bound in reads each under it
    line = b"X-Part: " + b"c" * 8000 + b"\r\n"
    answer = raw_answer(server.port, b"GET /v1/divisions HTTP/1.1\r\nHost: x\r\n", line, line, line)
    assert answer.startswith(b"HTTP/1.1 431"), answer[:200]


def answers_until_closed(connection: socket.socket, seconds: float = 10) -> bytes:
    """Everything the server sends on `connection` until it closes it (or `seconds` of
    silence)."""
    connection.settimeout(seconds)
    received = b""
    try:
        while more := connection.recv(65536):
            received += more
    except (TimeoutError, ConnectionResetError):
        pass
    return received


def statuses(received: bytes) -> list[bytes]:
    return re.findall(rb"HTTP/1\.1 (\d{3}) [A-Z]", received)


def test_a_head_over_the_bound_is_refused_whichever_read_it_began_in(server):
    # A head's first read is not counted as it is read (it may also hold the request
    # before it), so a head over the bound that ends in a later read is measured whole.
    healthz = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
    big = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 40000
    end = b"\r\nConnection: close\r\n\r\n"
    with socket.create_connection(("127.0.0.1", server.port)) as keep_alive:
        keep_alive.sendall(healthz)
        time.sleep(0.2)
        keep_alive.sendall(big)
        time.sleep(0.2)
        keep_alive.sendall(end)
        assert statuses(answers_until_closed(keep_alive)) == [b"200", b"431"]
    with socket.create_connection(("127.0.0.1", server.port)) as pipelined:
        pipelined.sendall(healthz + big)
        time.sleep(0.2)
        pipelined.sendall(end)
        assert statuses(answers_until_closed(pipelined)) == [b"200", b"431"]


def test_a_body_read_with_the_next_head_is_not_counted_as_head(server):
    # a body larger than the bound, then the start of the next request, in one read
    body = b"{}" + b" " * 20000
    post = b"POST /v1/facilities/0/reports HTTP/1.1\r\n"
    post += b"Host: x\r\nContent-Type: application/json\r\n"
    first = post + b"Content-Length: %d\r\n\r\n" % len(body)
    chunked = post + b"Transfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)
    for opening in (first + body, chunked):
        with socket.create_connection(("127.0.0.1", server.port)) as connection:
            connection.sendall(opening + b"GET /healthz HTTP/1.1\r\nHo")
            time.sleep(0.2)
            connection.sendall(b"st: x\r\nConnection: close\r\n\r\n")
            # the report's answer (its body is not a report), then the next request's
            assert statuses(answers_until_closed(connection)) == [b"422", b"200"]


def test_a_refused_head_never_lands_inside_the_answer_before_it(strict):
    stream = b"GET /v1/alerts/stream HTTP/1.1\r\nHost: x\r\n\r\n"
    # a late head behind an endless stream: the stream goes on, with nothing in it
    with socket.create_connection(("127.0.0.1", strict.port)) as late:
        late.sendall(stream + b"GET /healthz HTTP/1.1\r\nHo")
        received = answers_until_closed(late, seconds=5)  # the stream stays open
        assert received.startswith(b"HTTP/1.1 200"), received[:200]
        assert b"text/event-stream" in received
        assert b"408" not in received and b"HTTP/1.1" not in received[12:]
    # a head too large behind it: nothing is written into the stream, which is the
    # connection's last answer
    with socket.create_connection(("127.0.0.1", strict.port)) as large:
        large.sendall(stream + b"GET /healthz HTTP/1.1\r\nX-Big: " + b"a" * 1000)
        time.sleep(0.2)
        for _ in range(3):
            large.sendall(b"b" * 8000)
            time.sleep(0.1)
        received = answers_until_closed(large, seconds=5)
        assert received.startswith(b"HTTP/1.1 200"), received[:200]
        assert b"431" not in received and b"HTTP/1.1" not in received[12:]


def test_a_deep_population_file_is_a_400_not_a_dropped_connection(server, registry):
    answer = httpx.post(
        f"{server.base}/v1/planning/population-layers",
        params={"name": "deep"},
        content=b"[" * 100_000,
        headers={"Authorization": f"Bearer {registry[1]}", "Content-Type": "application/geo+json"},
    )
    assert answer.status_code == 400 and "nested deeper" in answer.json()["detail"]


def test_limits_hold_across_the_workers(strict):
    pids = set()
    granted = 0
    for _ in range(40):  # a connection each, dealt to either worker by the kernel
        answer = httpx.get(f"{strict.base}/v1/divisions")
        granted += answer.status_code == 200
        assert answer.status_code in (200, 429)
    pids = workers(strict.process.pid)
    assert len(pids) == 2
    assert 20 <= granted <= 21  # one burst in all, not one per worker


def test_forwarded_for_is_believed_from_listed_proxies_only(strict, create_facility_id):
    url = f"{strict.base}/v1/facilities/{create_facility_id}/reports"
    posted = [
        httpx.post(url, json={"kind": "locked"}, headers={"X-Forwarded-For": f"198.51.100.{n}"})
        for n in range(4)
    ]
    assert [p.status_code for p in posted] == [201, 201, 201, 429]
    proxy = httpx.Client(transport=httpx.HTTPTransport(local_address="127.0.0.2"))
    relayed = [
        proxy.post(url, json={"kind": "locked"}, headers={"X-Forwarded-For": f"203.0.113.{n}"})
        for n in range(5)
    ]
    assert [r.status_code for r in relayed] == [201] * 5


@pytest.fixture(scope="module")
def create_facility_id(registry) -> int:
    engine = create_engine(Settings(database_url=registry[0]).sqlalchemy_url)
    with engine.connect() as connection:
        found = connection.execute(
            text("SELECT min(id) FROM facility WHERE wartime_function = 'personnel_shelter'")
        ).scalar_one()
    engine.dispose()
    return found


def test_a_plaque_qr_code_for_a_long_host_is_a_400(server, create_facility_id):
    """The QR code encodes the request's own address: a Host longer than a QR code holds
    is named, not a 500."""
    url = f"{server.base}/v1/facilities/{create_facility_id}/qr"
    answer = httpx.get(url, headers={"Host": "a" * 3000 + ".example.cn"})
    assert answer.status_code == 400, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert "QR code" in answer.json()["detail"]
    assert httpx.get(url).headers["content-type"].startswith("image/svg+xml")


def test_a_map_session_is_never_refused(server):
    """A minute of MapLibre over Hefei: zooms 10 to 16, pans at each zoom, TileJSON."""
    refused = 0
    with httpx.Client(base_url=server.base) as browser:
        for z in range(10, 17):
            scale = 2 ** (z - 10)
            x0, y0 = 845 * scale, 418 * scale
            for pan in range(3):
                for dx in range(4):
                    for dy in range(3):
                        for layer in ("parking", "shelters"):
                            path = f"/ogc/collections/{layer}/tiles/WebMercatorQuad"
                            tile = f"{path}/{z}/{x0 + dx + pan}/{y0 + dy + pan}"
                            refused += browser.get(tile).status_code == 429
            refused += browser.get(f"{path}/tilejson.json").status_code == 429
    assert refused == 0


def test_the_documented_ogr2ogr_copy_completes_anonymously(server, tmp_path):
    out = tmp_path / "shelters.gpkg"
    done = subprocess.run(
        ["ogr2ogr", "-f", "GPKG", str(out), f"OAPIF:{server.base}/ogc", "shelters"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    count = subprocess.run(
        ["ogrinfo", "-so", str(out), "shelters"], capture_output=True, text=True, check=True
    ).stdout
    assert f"Feature Count: {items(server, 'shelters')}" in count


def items(server: Server, collection: str) -> int:
    """How many features the collection has, paged at the largest page size."""
    url, count = f"{server.base}/ogc/collections/{collection}/items?limit=1000", 0
    while url:
        page = httpx.get(url).json()
        count += len(page["features"])
        url = next((link["href"] for link in page["links"] if link["rel"] == "next"), None)
    return count


@pytest.fixture(scope="module")
def crowded(registry, tmp_path_factory) -> Iterator[Server]:
    """A pool of one connection (eleven with its overflow), a second's wait for a turn, and
    no rate limits in the way."""
    env = {
        "RF_DB_POOL_SIZE": "1",
        "RF_DB_POOL_TIMEOUT_S": "1",
        "RF_READ_BURST": "100000",
        "RF_READ_RATE_PER_MINUTE": "1e6",
    }
    yield from serving(registry, tmp_path_factory, env)


def test_a_burst_on_the_primarys_pool_is_answered_and_leaves_the_server_well(crowded, registry):
    """Far more requests holding a session at once than the pool has connections, keyed and
    not: each is answered, those that waited past a second for their turn as a 503 to
    retry, and the server answers at once afterwards. Waiting for the pool on worker
    threads, they took every thread, and the requests holding the connections found none
    to finish on: nothing was answered, then or after."""

    async def burst() -> Counter:
        limits = httpx.Limits(max_connections=400)
        async with httpx.AsyncClient(base_url=crowded.base, timeout=60, limits=limits) as client:
            key = {"Authorization": f"Bearer {registry[1]}"}
            answers = await asyncio.gather(
                *(client.get("/v1/divisions", headers=key if n % 2 else {}) for n in range(400))
            )
        return Counter(
            (answer.status_code, answer.headers["content-type"].split(";")[0]) for answer in answers
        )

    answers = asyncio.run(burst())
    assert set(answers) <= {(200, "application/json"), (503, "application/problem+json")}
    assert answers[200, "application/json"] >= 22  # a pool's worth on each worker at least
    assert httpx.get(f"{crowded.base}/v1/divisions", timeout=5).status_code == 200


def asked(server: Server, head: str, key: str) -> socket.socket:
    """A request whose answer is left unread: a streamed one stalls on it, holding its turn."""
    client = socket.create_connection(("127.0.0.1", server.port))
    client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    client.sendall(
        f"{head} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {key}\r\n"
        "Connection: close\r\n\r\n".encode()
    )
    return client


def reset(client: socket.socket) -> None:
    client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    client.close()


def test_a_streamed_export_past_its_turns_is_a_503_not_a_200_cut_short(crowded, registry):
    """Exports streamed to clients that do not read hold every turn of both workers (eleven
    each); the others wait a second and are refused whole, as problem+json with Retry-After.
    Their bodies took their turn once 200 had gone out, so a wait too long cut a 200 short."""
    clients = [asked(crowded, "GET /v1/export?format=geojson", registry[1]) for _ in range(40)]
    try:
        time.sleep(3)
        heads = []
        for client in clients:
            client.settimeout(10)
            heads.append(client.recv(4096).decode("latin-1").lower())
        refused = [head for head in heads if head.startswith("http/1.1 503")]
        assert len(heads) - len(refused) <= 22, [head[:12] for head in heads]
        for head in refused:
            assert "content-type: application/problem+json" in head
            assert "retry-after: 1" in head
    finally:
        for client in clients:
            reset(client)
    time.sleep(1.5)  # the stalled streams close and give their turns back
    assert httpx.get(f"{crowded.base}/v1/divisions", timeout=5).status_code == 200


def test_an_upload_refused_a_turn_leaves_no_file(crowded, registry):
    """An import whose job found no turn in time is a 503, and its upload is gone with it."""
    key = registry[1]
    clients = [asked(crowded, "GET /v1/export?format=geojson", key) for _ in range(40)]
    try:
        time.sleep(3)
        answers = [
            httpx.post(
                f"{crowded.base}/v1/imports",
                params={"filename": "turn.geojson"},
                content=b'{"type": "FeatureCollection", "features": []}',
                headers={"Authorization": f"Bearer {key}"},
                timeout=10,
            )
            for _ in range(4)
        ]
    finally:
        for client in clients:
            reset(client)
    assert {answer.status_code for answer in answers} == {503}, [a.text for a in answers]
    assert not list(crowded.import_dir.glob("rf-import-*"))


def test_answers_compressed_with_zstd_at_once_each_decode(crowded, registry):
    """Exports streamed in zstd at the same time: each is the whole CSV. They shared one
    compressor, whose frames then mixed: all but one were undecodable."""

    async def exports() -> list[bytes]:
        headers = {"Authorization": f"Bearer {registry[1]}", "Accept-Encoding": "zstd"}
        async with httpx.AsyncClient(base_url=crowded.base, timeout=60) as client:
            answers = await asyncio.gather(
                *(client.get("/v1/export?format=csv", headers=headers) for _ in range(8))
            )
        assert {answer.headers["content-encoding"] for answer in answers} == {"zstd"}
        return [answer.content for answer in answers]

    bodies = asyncio.run(exports())
    assert len(set(bodies)) == 1 and bodies[0].count(b"\n") > 100
