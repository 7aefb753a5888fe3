"""A shelter's live status in the shelters tile layer: a push shows in the next tile of
both tile sets, a stale report shows as not fresh, cluster tiles stay cached, and a tile
holding a fresh status is kept no longer than that status is fresh."""

import time
from datetime import UTC, datetime, timedelta

import pytest

from app.ogc.tiles.cache import TileCache
from app.ogc.tiles.router import tile_cache
from tests.tiles.test_cache import cached, key
from tests.tiles.test_gcj02 import GCJ, gcj_tile
from tests.tiles.test_router import HERE, decode, tile_url

STALE_AFTER_S = 600  # the default of RF_SHELTER_STATUS_STALE_AFTER_S


@pytest.fixture
def shelter(create):
    return create(capacity_persons=1000, shelter_area=1000)["id"]


def push(client, facility_id: int, *, persons: int, ago: timedelta, state: str = "open"):
    observed = (datetime.now(UTC) - ago).replace(microsecond=0)
    response = client.put(
        f"/v1/facilities/{facility_id}/shelter/status",
        json={"state": state, "persons_inside": persons, "observed_at": observed.isoformat()},
    )
    assert response.status_code == 200, response.text
    return observed


def shelter_row(client, tmp_path, url: str, facility_id: int) -> dict:
    response = client.get(url)
    assert response.status_code == 200, response.text
    rows = decode(tmp_path, url, response.content)["shelters"]["rows"]
    [row] = [row for row in rows if row["id"] == facility_id]
    return row


def test_a_push_shows_in_the_next_tile_of_both_tile_sets(app, client, shelter, tmp_path):
    urls = [tile_url("shelters", 16), gcj_tile("shelters", 16, *GCJ)]
    for url in urls:
        before = shelter_row(client, tmp_path, url, shelter)
        assert before["status_stale"]
        assert before.get("shelter_state") is None and before.get("free_places") is None
        assert cached(client, app, url)

    observed = push(client, shelter, persons=250, ago=timedelta(minutes=1))

    for url in urls:
        row = shelter_row(client, tmp_path, url, shelter)
        assert (row["shelter_state"], row["persons_inside"], row["free_places"]) == (
            "open",
            250,
            750,
        )
        assert not row["status_stale"]
        assert row["status_observed_at"] == int(observed.timestamp())
        assert row["status_fresh_until"] == int(observed.timestamp()) + STALE_AFTER_S
    # the next push, full: the tile follows again
    push(client, shelter, persons=1000, ago=timedelta(seconds=10), state="full")
    row = shelter_row(client, tmp_path, urls[0], shelter)
    assert (row["shelter_state"], row["free_places"]) == ("full", 0)


def test_a_stale_report_shows_as_not_fresh(client, shelter, tmp_path):
    observed = push(client, shelter, persons=250, ago=timedelta(seconds=STALE_AFTER_S + 60))
    row = shelter_row(client, tmp_path, tile_url("shelters", 15), shelter)
    assert row["status_stale"] and row["status_observed_at"] == int(observed.timestamp())
    for field in ("shelter_state", "persons_inside", "free_places", "status_fresh_until"):
        assert row.get(field) is None, field


def test_a_push_leaves_the_cluster_tiles_cached(app, client, shelter):
    clusters = [tile_url("shelters", z) for z in (8, 12, 14)]
    features = [tile_url("shelters", z) for z in (15, 16)]
    for url in clusters + features:
        client.get(url)
    push(client, shelter, persons=10, ago=timedelta(minutes=1))
    assert not any(cached(client, app, url) for url in features)
    assert all(cached(client, app, url) for url in clusters)


def test_a_tile_with_a_fresh_status_is_kept_while_that_status_is_fresh(app, client, shelter):
    observed = push(client, shelter, persons=10, ago=timedelta(minutes=1))
    url = tile_url("shelters", 16)
    client.get(url)
    tile = tile_cache(app).get(key("shelters", 16, *HERE))
    assert tile.until == observed.timestamp() + STALE_AFTER_S
    # tiles without a fresh status are kept until a write touches them
    client.get(tile_url("facilities", 16))
    assert tile_cache(app).get(key("facilities", 16, *HERE)).until is None


def test_the_cache_serves_no_tile_past_its_time(app):
    cache = TileCache(app.state)
    here = key("shelters", 16, *HERE)
    there = key("shelters", 16, HERE[0] + 0.01, HERE[1])
    cache.put(here, b"stale now", cache.generation, until=time.time() - 1)
    cache.put(there, b"fresh for an hour", cache.generation, until=time.time() + 3600)
    assert cache.get(here) is None
    assert cache.get(there).body == b"fresh for an hour"
