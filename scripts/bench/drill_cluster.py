"""Failover drills on the cluster of scripts/cluster, through the API (scripts/drill_cluster):
under a write load (occupancy pushes and facility edits, each acknowledged write
recorded) and a read load (nearby searches), one failure at a time:

    primary    kill -9 the primary's PostgreSQL: Patroni promotes the synchronous standby
    replica    kill -9 the asynchronous standby's PostgreSQL
    sync       kill -9 the synchronous standby's PostgreSQL: commits wait for a standby
               until Patroni makes the other one synchronous
    etcd       kill -9 etcd's leader (restarted after the phase)

After each: every acknowledged write must be in the database, no answer may be a 5xx
other than 503 with Retry-After, and none may hang. Prints a row per phase: the seconds
writes and reads were unavailable, and the answers by status; with --json FILE, the same
as JSON (tests/test_cluster.py reads it).

    drill_cluster.py API_URL ADMIN_KEY [--phases primary,replica,sync,etcd] [--json FILE]
"""

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent))
import cluster  # noqa: E402

TIMEOUT = 15  # seconds: an answer later than this is a hang
WRITERS, EDITORS, READERS = 4, 2, 6
HERE = {"lon": 117.2272, "lat": 31.8206}  # Hefei


@dataclass
class Call:
    kind: str  # write | read
    start: float
    end: float
    status: int  # 0: no answer (connection error); -1: timed out
    retry_after: bool = False
    error: str = ""  # of a call with no answer


@dataclass
class Run:
    calls: list[Call] = field(default_factory=list)
    pushes: list[tuple[int, str]] = field(default_factory=list)  # acknowledged
    edits: list[tuple[int, str]] = field(default_factory=list)  # acknowledged
    running: bool = True


async def timed(run: Run, kind: str, request) -> httpx.Response | None:
    start = time.monotonic()
    try:
        answer = await asyncio.wait_for(request, TIMEOUT)
    except TimeoutError:
        run.calls.append(Call(kind, start, time.monotonic(), -1))
        return None
    except httpx.TransportError as exc:
        run.calls.append(Call(kind, start, time.monotonic(), 0, error=type(exc).__name__))
        await asyncio.sleep(0.05)
        return None
    retry = "retry-after" in answer.headers
    run.calls.append(Call(kind, start, time.monotonic(), answer.status_code, retry))
    if answer.status_code >= 500:
        await asyncio.sleep(0.05)
    return answer


async def pusher(client: httpx.AsyncClient, run: Run, facility: int) -> None:
    n = 0
    while run.running:
        n += 1
        observed = (datetime.now(UTC) - timedelta(seconds=1)).isoformat(timespec="microseconds")
        body = {"realtime_free_capacity": n % 50, "realtime_data_updated_at": observed}
        answer = await timed(
            run, "write", client.put(f"/v1/facilities/{facility}/parking/occupancy", json=body)
        )
        if answer is not None and answer.is_success:
            run.pushes.append((facility, observed))
        await asyncio.sleep(0.02)


async def editor(client: httpx.AsyncClient, run: Run, facility: int) -> None:
    n = 0
    while run.running:
        found = await timed(run, "read", client.get(f"/v1/facilities/{facility}"))
        if found is None or not found.is_success:
            continue
        n += 1
        address = f"drill {os.getpid()} {facility} {n}"
        answer = await timed(
            run,
            "write",
            client.patch(
                f"/v1/facilities/{facility}",
                json={"address": address},
                headers={"If-Match": found.headers["etag"]},
            ),
        )
        if answer is not None and answer.is_success:
            run.edits.append((facility, address))


async def reader(client: httpx.AsyncClient, run: Run) -> None:
    while run.running:
        await timed(run, "read", client.get("/v1/parking/nearby", params={**HERE, "limit": 10}))


def unavailable(calls: list[Call], kind: str, since: float) -> float:
    """Seconds from the first failed `kind` call started after `since` to the end of the
    first good one started after the last failure."""
    mine = sorted((c for c in calls if c.kind == kind and c.start >= since), key=lambda c: c.start)
    failed = [c for c in mine if not 200 <= c.status < 500]
    if not failed:
        return 0.0
    after = [c for c in mine if c.start >= failed[-1].start and 200 <= c.status < 500]
    end = after[0].end if after else mine[-1].end
    return end - failed[0].start


def slowest(calls: list[Call], kind: str, since: float) -> float:
    """Seconds of the longest `kind` call started after `since`: a commit waiting for a
    standby is unavailability that no failed answer shows."""
    return max((c.end - c.start for c in calls if c.kind == kind and c.start >= since), default=0)


# The member whose PostgreSQL a phase kills, by its role in Patroni's /cluster.
ROLE = {"primary": "leader", "replica": "replica", "sync": "sync_standby"}


def fault(phase: str) -> str:
    """Does the phase's damage; returns what was hit."""
    roles = {m["role"]: m["name"] for m in cluster.members()}
    if phase in ROLE:
        name = roles[ROLE[phase]]
        node = cluster.NODE[int(name.removeprefix("node"))]
        os.kill(node.postmaster_pid(), signal.SIGKILL)
        return f"PostgreSQL of {name}"
    status = subprocess.run(
        ["etcdctl", f"--endpoints=127.0.0.1:{cluster.etcd_ports(1)[0]}", "endpoint", "status",
         "--cluster", "-w", "json"], capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    states = json.loads(status)
    lead = states[0]["Status"]["leader"]
    endpoint = next(s["Endpoint"] for s in states if s["Status"]["header"]["member_id"] == lead)
    member = next(m for m in cluster.NODES if endpoint.endswith(f":{cluster.etcd_ports(m)[0]}"))
    os.killpg(int((cluster.HOME / "pid" / f"etcd{member}.pid").read_text()), signal.SIGKILL)
    return f"etcd member e{member} (leader)"


def healthy() -> bool:
    """A leader, both standbys streaming, and one of them synchronous again (a phase kills
    a member by its role)."""
    found = cluster.members()
    return (
        len(found) == 3
        and sum(m["role"] == "leader" and m["state"] == "running" for m in found) == 1
        and sum(m["role"] != "leader" and m["state"] in ("running", "streaming") for m in found)
        == 2
        and any(m["role"] == "sync_standby" for m in found)
    )


def missing(run: Run) -> int:
    """Acknowledged writes not in the database, read on the primary."""
    primary = cluster.wait(cluster.leader, "no leader after the drill")
    pushes = {(f, o) for f, o in run.pushes}
    stored = set()
    for facility in {f for f, _ in pushes}:
        rows = cluster.psql(
            primary,
            "SELECT to_char(observed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US')"
            f" FROM parking_occupancy WHERE facility_id = {facility}",
            cluster.DATABASE,
        )
        stored |= {(facility, row) for row in rows.split()}
    lost = sum((f, o[:26]) not in stored for f, o in pushes)
    addresses = set(
        cluster.psql(
            primary,
            "SELECT after->>'address' FROM audit_event WHERE action = 'update'"
            " AND after->>'address' LIKE 'drill %'",
            cluster.DATABASE,
        ).splitlines()
    )
    return lost + sum(address not in addresses for _, address in run.edits)


async def phase(base: str, key: str, name: str, targets: dict[str, list[int]]) -> dict:
    run = Run()
    headers = {"Authorization": f"Bearer {key}"}
    limits = httpx.Limits(max_connections=64)
    # The client waits longer than TIMEOUT, so that a slow answer counts as a hang.
    async with httpx.AsyncClient(
        base_url=base, headers=headers, limits=limits, timeout=TIMEOUT + 5
    ) as client:
        tasks = [asyncio.create_task(pusher(client, run, f)) for f in targets["parks"]]
        tasks += [asyncio.create_task(editor(client, run, f)) for f in targets["edited"]]
        tasks += [asyncio.create_task(reader(client, run)) for _ in range(READERS)]
        await asyncio.sleep(5)
        hit_at = time.monotonic()
        hit = await asyncio.to_thread(fault, name)
        if name == "etcd":
            await asyncio.sleep(5)
            member = hit.split()[2].removeprefix("e")
            cluster.spawn(f"etcd{member}", cluster.etcd_command(int(member)))
        deadline = hit_at + 120
        await asyncio.sleep(3)
        while not await asyncio.to_thread(healthy) and time.monotonic() < deadline:
            await asyncio.sleep(1)
        await asyncio.sleep(10)  # writes and reads on the healed cluster
        run.running = False
        await asyncio.gather(*tasks)
    statuses = Counter(c.error or str(c.status) for c in run.calls if c.start >= hit_at)
    return {
        "phase": name,
        "hit": hit,
        "write_unavailable_s": round(unavailable(run.calls, "write", hit_at), 1),
        "read_unavailable_s": round(unavailable(run.calls, "read", hit_at), 1),
        "slowest_write_s": round(slowest(run.calls, "write", hit_at), 1),
        "slowest_read_s": round(slowest(run.calls, "read", hit_at), 1),
        "acknowledged": len(run.pushes) + len(run.edits),
        "lost": await asyncio.to_thread(missing, run),
        "statuses": dict(statuses),
        "5xx_not_503": sum(c.status >= 500 and c.status != 503 for c in run.calls),
        "503_without_retry_after": sum(c.status == 503 and not c.retry_after for c in run.calls),
        "hangs": sum(c.status == -1 for c in run.calls),
    }


def targets(base: str) -> dict[str, list[int]]:
    found = httpx.get(f"{base}/v1/parking/nearby", params={**HERE, "limit": 20}).json()["items"]
    ids = list(dict.fromkeys(item["facility_id"] for item in found))
    return {"parks": ids[:WRITERS], "edited": ids[WRITERS : WRITERS + EDITORS]}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("api")
    parser.add_argument("key")
    parser.add_argument("--phases", default="primary,replica,sync,etcd")
    parser.add_argument("--json")
    args = parser.parse_args()
    chosen = targets(args.api)
    results = []
    print(
        f"{'phase':8} {'hit':28} {'writes down':>11} {'reads down':>10}"
        f" {'slowest write':>13} {'read':>6} {'acked':>6}"
        f" {'lost':>4} {'hangs':>5}  answers after the hit"
    )
    for name in args.phases.split(","):
        cluster.wait(healthy, "the cluster is not healthy before the phase", seconds=180)
        result = asyncio.run(phase(args.api, args.key, name, chosen))
        results.append(result)
        print(
            f"{name:8} {result['hit']:28} {result['write_unavailable_s']:>9} s"
            f" {result['read_unavailable_s']:>8} s {result['slowest_write_s']:>11} s"
            f" {result['slowest_read_s']:>4} s {result['acknowledged']:>6}"
            f" {result['lost']:>4} {result['hangs']:>5}  {result['statuses']}",
            flush=True,
        )
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
