"""The delay from POST /v1/alerts to the SSE event on every open stream.

    alert_stream.py BASE_URL KEY STREAMS ALERTS

Opens STREAMS streams (plain sockets: one reader task each), waits until all are open,
then posts ALERTS alerts one after another; for each, the time from sending the POST to
the event's arrival on each stream. Prints p50, p99 and the maximum over all arrivals,
and how long the POST itself took. Bounded: every wait gives up after 60 s."""

import asyncio
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import httpx

WAIT_S = 60


def cap(identifier: str) -> bytes:
    now = datetime.now(UTC)
    stamp = lambda t: t.strftime("%Y-%m-%dT%H:%M:%S+00:00")  # noqa: E731
    return f"""<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
<identifier>{identifier}</identifier><sender>bench@rf</sender><sent>{stamp(now)}</sent>
<status>Exercise</status><msgType>Alert</msgType><scope>Public</scope>
<info><category>Safety</category><event>防空警报演练 air raid drill</event>
<urgency>Immediate</urgency><severity>Extreme</severity><certainty>Observed</certainty>
<expires>{stamp(now + timedelta(minutes=10))}</expires>
<area><areaDesc>bench</areaDesc><circle>31.8206,117.2272 5</circle></area></info>
</alert>""".encode()


async def reader(
    host: str, port: int, opened: asyncio.Event, seen: dict[str, list[float]], ready: list[int]
) -> None:
    r, w = await asyncio.open_connection(host, port)
    w.write(f"GET /v1/alerts/stream HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
    await w.drain()
    buffer = b""
    while b": listening" not in buffer:
        chunk = await asyncio.wait_for(r.read(4096), WAIT_S)
        if not chunk:
            raise RuntimeError(f"stream closed: {buffer[:200]!r}")
        buffer += chunk
    ready.append(1)
    opened.set()
    while True:
        chunk = await r.read(65536)
        if not chunk:
            return
        arrived = time.perf_counter()
        for marker in chunk.split(b'"identifier": "')[1:]:
            seen.setdefault(marker.split(b'"')[0].decode(), []).append(arrived)


async def main(base: str, key: str, streams: int, alerts: int) -> None:
    url = urlsplit(base)
    seen: dict[str, list[float]] = {}
    ready: list[int] = []
    tasks = []
    for _ in range(streams):
        opened = asyncio.Event()
        tasks.append(asyncio.create_task(reader(url.hostname, url.port, opened, seen, ready)))
        await asyncio.wait_for(opened.wait(), WAIT_S)
    print(f"{len(ready)} streams open")
    delays, posts = [], []
    run = int(time.time())
    async with httpx.AsyncClient(base_url=base, timeout=WAIT_S) as client:
        for n in range(alerts):
            identifier = f"BENCH-{run}-{n}"
            started = time.perf_counter()
            response = await client.post(
                "/v1/alerts",
                content=cap(identifier),
                headers={"Authorization": f"Bearer {key}", "Content-Type": "application/xml"},
            )
            posts.append(time.perf_counter() - started)
            assert response.status_code == 201, response.text
            deadline = time.perf_counter() + WAIT_S
            while len(seen.get(identifier, [])) < streams and time.perf_counter() < deadline:
                await asyncio.sleep(0.01)
            arrivals = seen.get(identifier, [])
            print(f"alert {n}: {len(arrivals)}/{streams} streams")
            delays += [a - started for a in arrivals]
            await asyncio.sleep(0.5)
    for task in tasks:
        task.cancel()
    delays.sort()
    ms = lambda s: f"{s * 1000:.0f} ms"  # noqa: E731
    print(
        f"POST -> event, {len(delays)} arrivals: p50 {ms(statistics.median(delays))}, "
        f"p99 {ms(delays[int(len(delays) * 0.99) - 1])}, max {ms(delays[-1])}; "
        f"POST answered in p50 {ms(statistics.median(posts))}"
    )


if __name__ == "__main__":
    base, key, streams, alerts = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    asyncio.run(main(base, key, streams, alerts))
