"""Failover drills on a real cluster (scripts/cluster: etcd, three Patroni nodes,
pgbouncer, HAProxy), run with RF_CLUSTER_TESTS=1: several minutes, and a cluster of their
own on loopback ports from RF_CLUSTER_PORT. Not collected otherwise (tests/conftest.py)."""

import json
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts" / "bench"))
import cluster  # noqa: E402

from tests.live import Server  # noqa: E402

pytestmark = pytest.mark.cluster


@pytest.fixture(scope="module")
def up():
    # Stopped afterwards only if started here, as scripts/lib.sh's cluster_stop does.
    started = not cluster.ours()
    subprocess.run([ROOT / "scripts" / "cluster", "up", "2000"], check=True)
    yield
    if started:
        subprocess.run([ROOT / "scripts" / "cluster", "down"], check=True)


def test_failovers_lose_no_acknowledged_write_and_answer_503_at_worst(up, tmp_path):
    results = tmp_path / "drill.json"
    subprocess.run(
        [ROOT / "scripts" / "drill_cluster", "--json", str(results)], check=True, timeout=1800
    )
    for phase in json.loads(results.read_text()):
        assert phase["acknowledged"] > 0, phase
        assert phase["lost"] == 0, phase
        assert phase["hangs"] == 0, phase
        assert phase["5xx_not_503"] == 0, phase
        assert phase["503_without_retry_after"] == 0, phase


def standbys() -> list[cluster.Node]:
    return [
        cluster.NODE[int(m["name"].removeprefix("node"))]
        for m in cluster.members()
        if m["role"] != "leader"
    ]


def delay(node: cluster.Node, value: str | None) -> None:
    body = json.dumps({"postgresql": {"parameters": {"recovery_min_apply_delay": value}}})
    answer = httpx.patch(f"http://127.0.0.1:{node.rest_port}/config", content=body, timeout=10)
    assert answer.status_code == 200, answer.text


def setting(node: cluster.Node) -> str:
    return cluster.psql(node, "SHOW recovery_min_apply_delay")


# How far the standbys' replay is held back; what the waits below are bounded by.
APPLY_DELAY_S = 60


def test_a_standby_behind_leaves_the_rotation_and_a_writer_reads_its_write(up, tmp_path):
    server = Server(cluster.environment()["DATABASE_URL"], cluster.environment(), tmp_path)
    key = subprocess.run(
        [ROOT / ".venv" / "bin" / "rf", "keys", "create", "--name", "replica-test", "--role",
         "admin"], env={**cluster.environment(), "PATH": "/usr/bin:/bin"}, check=True,
        capture_output=True, text=True,
    ).stdout.splitlines()[-1]  # fmt: skip
    writer = httpx.Client(base_url=server.base, headers={"Authorization": f"Bearer {key}"})

    def in_rotation() -> int:
        # Every node is listed as a replica; the primary never joins the rotation.
        found = httpx.get(f"{server.base}/readyz", timeout=5).json()
        return sum(r["in_rotation"] for r in found["replicas"])

    def wait(condition, what: str, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while not condition():
            assert time.monotonic() < deadline, what
            time.sleep(0.5)

    try:
        # A server just started: its first checks, however slow the machine.
        wait(lambda: in_rotation() == 2, "both standbys in rotation", 180)
        # Standbys that apply the WAL a minute late (Patroni would resume a paused replay).
        delay(cluster.leader(), f"{APPLY_DELAY_S}s")
        wait(
            lambda: all(setting(n) == f"{APPLY_DELAY_S // 60}min" for n in standbys()),
            "the delay in force",
            APPLY_DELAY_S,
        )
        facility = writer.get("/v1/facilities", params={"limit": 1}).json()["items"][0]
        renamed = f"{facility['address']} (moved)"
        answer = writer.patch(
            f"/v1/facilities/{facility['id']}",
            json={"address": renamed},
            headers={"If-Match": writer.get(f"/v1/facilities/{facility['id']}").headers["etag"]},
        )
        assert answer.status_code == 200
        # The writer's hot reads go to the primary at once; the standbys have not replayed.
        item = f"/ogc/collections/facilities/items/{facility['id']}"
        assert writer.get(item).json()["properties"]["address"] == renamed
        paused = standbys()[0]
        stale = cluster.psql(
            paused, f"SELECT address FROM facility WHERE id = {facility['id']}", cluster.DATABASE
        )
        assert stale == facility["address"]
        # Within the delay, or the write is replayed and there is nothing left to see.
        wait(lambda: in_rotation() == 0, "paused standbys leave the rotation", APPLY_DELAY_S)
    finally:
        delay(cluster.leader(), None)
    # Lifted, the delay leaves at most its own span of WAL to replay.
    wait(lambda: in_rotation() == 2, "caught-up standbys come back", APPLY_DELAY_S)
    writer.close()
    server.stop()
