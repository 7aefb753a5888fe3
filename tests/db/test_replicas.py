"""Where hot reads go (app.db.replicas): the rotation by measured lag, the primary for a
caller who just wrote, and one pinned replica for the tile cache. The failover drills on a
real Patroni cluster are tests/test_cluster.py (RF_CLUSTER_TESTS=1)."""

import pytest
from fastapi.testclient import TestClient

from app.accounts.gate import Limits
from app.accounts.ratelimit import RateTable
from app.config import sqlalchemy_url
from app.db.replicas import LAG, Reads, replica
from app.db.session import FROM_PRIMARY, make_sessionmaker
from app.main import create_app


@pytest.fixture
def replicas(settings):
    """Two 'replicas' on the suite's database (a primary: the checks would say so; here the
    lags are given by hand)."""
    made = [replica(settings, settings.sqlalchemy_url) for _ in range(2)]
    yield made
    for one in made:
        one.engine.dispose()
        one.checks.dispose()


def test_only_replicas_within_the_lag_bound_take_reads(settings, replicas):
    first, second = replicas
    reads = Reads(make_sessionmaker(first.engine), replicas)
    assert reads.next() is None  # none checked yet: the primary
    reads.update(first, 0.5, settings)
    reads.update(second, settings.max_replica_lag_s + 1, settings)
    assert {reads.next() for _ in range(4)} == {first}
    reads.update(second, 0.0, settings)
    reads.update(second, settings.max_replica_lag_s + 1, settings)  # once: a quiet spell
    assert {reads.next() for _ in range(4)} == {first, second}
    reads.update(second, settings.max_replica_lag_s + 1, settings)  # twice: behind
    assert {reads.next() for _ in range(4)} == {first}
    reads.update(second, 0.0, settings)
    assert {reads.next() for _ in range(4)} == {first, second}
    reads.failed(first, settings)
    assert {reads.next() for _ in range(4)} == {second}
    reads.update(second, None, settings)  # not answering, or a primary now
    assert reads.next() is None


def test_a_caller_who_wrote_reads_from_the_primary(settings, replicas):
    reads = Reads(make_sessionmaker(replicas[0].engine), replicas)
    reads.update(replicas[0], 0.0, settings)
    token = FROM_PRIMARY.set(True)
    try:
        assert reads.next() is None
    finally:
        FROM_PRIMARY.reset(token)
    assert reads.next() is replicas[0]


def test_the_tile_cache_follows_one_replica_and_learns_when_it_changes(settings, replicas):
    first, second = replicas
    reads = Reads(make_sessionmaker(first.engine), replicas)
    reads.update(first, 0.0, settings)
    reads.update(second, 0.0, settings)
    epoch = reads.epoch
    assert reads.pinned is first
    reads.update(second, 3.0, settings)
    assert (reads.pinned, reads.epoch) == (first, epoch)
    reads.failed(first, settings)
    assert reads.pinned is second
    assert reads.epoch == epoch + 1


def test_a_primary_is_no_standby(connection):
    assert connection.execute(LAG).scalar() is None


def test_the_write_window_is_per_caller_and_ends(settings):
    replicated = settings.model_copy(
        update={"database_replica_urls": ["postgresql://replica/rf"], "max_replica_lag_s": 1}
    )
    limits = Limits.of(replicated)
    assert limits.wrote is not None
    now = [100.0]
    table = RateTable(clock=lambda: now[0])
    table.drain("wrote key:1")
    assert table.empty("wrote key:1", limits.wrote)
    assert not table.empty("wrote key:2", limits.wrote)
    now[0] += replicated.read_your_writes_s + 0.01
    assert not table.empty("wrote key:1", limits.wrote)
    assert Limits.of(settings).wrote is None  # no replicas: nothing to mark


def test_a_copy_of_the_settings_connects_where_it_says(settings):
    assert settings.sqlalchemy_url and settings.replica_sqlalchemy_urls is not None  # read once
    other = "postgresql://reader@replica.example:5432/rf"
    copy = settings.model_copy(update={"database_url": other, "database_replica_urls": [other]})
    assert copy.sqlalchemy_url == copy.replica_sqlalchemy_urls[0] == sqlalchemy_url(other)


def test_readyz_reports_the_replicas(settings, app):
    with_replicas = create_app(
        settings.model_copy(update={"database_replica_urls": [settings.database_url]})
    )
    with TestClient(with_replicas) as client:
        response = client.get("/readyz")
    assert response.status_code == 200, response.text
    assert (
        response.json()["replicas"][0]["in_rotation"] is False
    )  # the suite's database is a primary
