"""The tile cache: writes evict exactly the tiles they touch, in every process, at once."""

import asyncio
from collections.abc import Awaitable
from datetime import UTC, datetime

import morecantile
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from app.main import create_app
from app.ogc.tiles.cache import TileCache
from app.ogc.tiles.matrix import touched
from app.ogc.tiles.repository import Changes, Rendered
from app.ogc.tiles.router import tile_cache

WMQ = morecantile.tms.get("WebMercatorQuad")
HERE = (117.2281, 31.8262)
FAR = (118.4331, 31.3525)  # Wuhu, 120 km away
PARKING = {"type": "parking", "name": "天鹅湖停车场", "attributes": {"total_spaces": 120}}
PLAQUE = {"kind": "identification_plaque", "status": "installed", "installed_on": "2021-07-01"}


def tile_url(collection: str, z: int, lon: float, lat: float) -> str:
    t = WMQ.tile(lon, lat, z)
    return f"/ogc/collections/{collection}/tiles/WebMercatorQuad/{z}/{t.x}/{t.y}"


def point(lon: float, lat: float) -> dict:
    return {"type": "Point", "coordinates": [lon, lat]}


def cached(client: TestClient, app, url: str) -> bool:
    """Reads the tile; whether it came from the cache."""
    cache = tile_cache(app)
    hits = cache.hits
    assert client.get(url).status_code in (200, 204)
    return cache.hits == hits + 1


def patch(client: TestClient, facility: dict, **fields) -> None:
    response = client.patch(
        f"/v1/facilities/{facility['id']}", json=fields, headers={"If-Match": "*"}
    )
    assert response.status_code == 200, response.text


def test_a_write_refreshes_its_tiles_at_every_zoom_and_no_others(app, client, create):
    here = create(name="天鹅湖人防工程")
    create(location=point(*FAR), admin_code="340200", name="芜湖人防工程")
    here_tiles = [tile_url("facilities", z, *HERE) for z in (8, 12, 14, 15, 16)]
    far_tiles = [tile_url("facilities", z, *FAR) for z in (8, 12, 14, 15, 16)]
    for url in here_tiles + far_tiles:
        client.get(url)
    assert all(cached(client, app, url) for url in here_tiles + far_tiles)

    patch(client, here, name="天鹅湖人防工程二期")

    assert not any(cached(client, app, url) for url in here_tiles)
    assert "天鹅湖人防工程二期".encode() in client.get(here_tiles[-1]).content
    assert all(cached(client, app, url) for url in far_tiles + here_tiles)


def test_a_move_refreshes_the_old_and_the_new_position(app, client, create):
    facility = create(name="会动的工程")
    old, new = tile_url("shelters", 16, *HERE), tile_url("shelters", 16, 117.30, 31.86)
    assert client.get(old).status_code == 200
    assert client.get(new).status_code == 204
    patch(client, facility, location=point(117.30, 31.86))
    assert client.get(old).status_code == 204
    assert "会动的工程".encode() in client.get(new).content


def test_fields_no_tile_shows_and_occupancy_evict_nothing(app, client, create):
    facility = create()
    assert client.post(f"/v1/facilities/{facility['id']}/uses", json=PARKING).status_code == 201
    urls = [tile_url(c, 16, *HERE) for c in ("facilities", "shelters", "parking", "signage")]
    for url in urls:
        client.get(url)
    patch(client, facility, keyholder_phone="13800000000", conversion_hours=48)
    occupancy = client.put(
        f"/v1/facilities/{facility['id']}/parking/occupancy",
        json={
            "realtime_free_capacity": 17,
            "realtime_opening_status": "OPEN",
            "realtime_data_updated_at": datetime.now(UTC).isoformat(),
        },
    )
    assert occupancy.status_code == 200, occupancy.text
    assert all(cached(client, app, url) for url in urls)


def test_entrance_use_and_sign_writes_refresh_their_collections(app, client, create):
    facility = create()
    entrances = tile_url("entrances", 16, 117.2285, 31.8264)
    parking, signage = tile_url("parking", 16, *HERE), tile_url("signage", 16, *HERE)
    shelters = tile_url("shelters", 16, *HERE)
    for url in (entrances, parking, signage, shelters):
        client.get(url)

    patch(
        client,
        facility,
        entrances=[{"kind": "vehicle", "name": "北坡道", "location": point(117.2285, 31.8264)}],
    )
    assert "北坡道".encode() in client.get(entrances).content
    assert client.post(f"/v1/facilities/{facility['id']}/uses", json=PARKING).status_code == 201
    assert "天鹅湖停车场".encode() in client.get(parking).content
    etag = client.get(signage).headers["etag"]
    assert client.post(f"/v1/facilities/{facility['id']}/signs", json=PLAQUE).status_code == 201
    assert client.get(signage).headers["etag"] != etag
    assert cached(client, app, shelters)


def test_a_deleted_facility_leaves_the_map_with_its_entrances(app, client, create):
    facility = create()
    urls = [tile_url("facilities", 16, *HERE), tile_url("entrances", 16, 117.2277, 31.8259)]
    assert [client.get(url).status_code for url in urls] == [200, 200]
    assert client.delete(f"/v1/facilities/{facility['id']}").status_code == 204
    assert [client.get(url).status_code for url in urls] == [204, 204]


def test_another_process_sees_a_write_at_once(app, settings, client, create):
    """Two apps, each with its own cache, on one database: a worker pair."""
    other = create_app(settings)
    other.state.sessionmaker = app.state.sessionmaker
    other.state.reads = app.state.reads
    reader = TestClient(other)
    facility = create(name="旧名字")
    url = tile_url("shelters", 15, *HERE)
    assert "旧名字".encode() in reader.get(url).content
    assert cached(reader, other, url)
    patch(client, facility, name="新名字")
    assert "新名字".encode() in reader.get(url).content


def changes(horizon: int, *rows: tuple, pruned_xid: int = 0) -> Changes:
    return Changes(horizon, pruned_xid, list(rows))


def key(collection: str, z: int, lon: float, lat: float) -> tuple[str, int, int, int]:
    t = WMQ.tile(lon, lat, z)
    return collection, z, t.x, t.y


def test_a_render_older_than_a_change_to_its_tile_is_not_stored(app):
    cache = TileCache(app.state)
    cache.apply(changes(100))
    touched_key, other_key = key("shelters", 16, *HERE), key("shelters", 16, *FAR)
    began = cache.generation
    cache.apply(changes(100, (1, 100, ["shelters"], *HERE, *HERE)))
    cache.put(touched_key, b"stale", began)
    cache.put(other_key, b"fine", began)
    assert cache.get(touched_key) is None
    assert cache.get(other_key).body == b"fine"
    cache.put(touched_key, b"fresh", cache.generation)
    assert cache.get(touched_key).body == b"fresh"


def test_the_cache_keeps_the_tiles_last_used_within_its_size_and_none_at_size_zero(app):
    app.state.settings = app.state.settings.model_copy(update={"tile_cache_bytes": 8})
    cache = TileCache(app.state)
    first, second, third = (key("shelters", 16, HERE[0] + i / 100, HERE[1]) for i in range(3))
    cache.put(first, b"1111", cache.generation)
    cache.put(second, b"2222", cache.generation)
    assert cache.get(first).body == b"1111"  # now the last used
    cache.put(third, b"3333", cache.generation)
    assert cache.get(second) is None
    assert [cache.get(k).body for k in (first, third)] == [b"1111", b"3333"]

    app.state.settings = app.state.settings.model_copy(update={"tile_cache_bytes": 0})
    uncached = TileCache(app.state)
    assert uncached.put(first, b"1111", uncached.generation).body == b"1111"
    assert uncached.get(first) is None


def test_a_change_is_applied_once_and_a_pruned_log_empties_the_cache(app):
    cache = TileCache(app.state)
    cache.apply(changes(100))
    here = key("shelters", 16, *HERE)
    change = (1, 100, ["shelters"], *HERE, *HERE)
    cache.apply(changes(100, change))
    cache.put(here, b"tile", cache.generation)
    cache.apply(changes(100, change))  # read again: the transaction's xid is at the horizon
    assert cache.get(here) is not None
    cache.apply(changes(120, pruned_xid=110))
    assert cache.get(here) is None


def test_a_bulk_write_is_noted_by_its_extent_and_a_small_one_point_by_point(connection, create):
    facility = create()
    facility_id = facility["id"]

    def noted(statement: str, rows: int) -> list[tuple]:
        last = connection.execute(text("SELECT coalesce(max(id), 0) FROM tile_change")).scalar()
        connection.execute(text(statement), {"facility": facility_id, "rows": rows})
        rows = connection.execute(
            text(
                "SELECT west, south, east, north FROM tile_change "
                "WHERE id > :last AND collections = '{entrances}' ORDER BY west"
            ),
            {"last": last},
        )
        return [tuple(round(value, 7) for value in row) for row in rows]

    insert = (
        "INSERT INTO entrance (facility_id, kind, accessible, location) "
        "SELECT :facility, 'pedestrian', false, "
        "ST_SetSRID(ST_MakePoint(117.2 + i / 1e5, 31.8 + i / 1e5), 4326) "
        "FROM generate_series(1, :rows) AS i"
    )
    few = noted(insert, 3)
    assert few == [(round(117.2 + i / 1e5, 7), round(31.8 + i / 1e5, 7)) * 2 for i in (1, 2, 3)]
    delete = "DELETE FROM entrance WHERE facility_id = :facility AND :rows > 0"
    assert len(noted(delete, 1)) == 3 + len(facility["entrances"])
    many = noted(insert, 1001)
    assert many == [(117.20001, 31.80001, 117.21001, 31.81001)]
    assert noted(delete, 1) == many


def test_touched_tiles_reach_into_the_buffer():
    # z16, a point 10 cm (1/6000 tile) inside tile 100's east edge: tile 101 draws it too
    lon = (101 - 1 / 6000) / 2**16 * 360 - 180
    assert list(touched(16, lon, 0.0, lon, 0.0)[0]) == [100, 101]
    # in the middle of the tile, no neighbour draws it
    lon = 100.5 / 2**16 * 360 - 180
    assert list(touched(16, lon, 0.0, lon, 0.0)[0]) == [100]
    # z10 clusters: a point in tile 100's last cell is drawn by tile 101 as well, one in
    # the cell before is not
    lon = (101 - 0.5 / 64) / 2**10 * 360 - 180
    assert list(touched(10, lon, 0.0, lon, 0.0)[0]) == [100, 101]
    lon = (101 - 1.5 / 64) / 2**10 * 360 - 180
    assert list(touched(10, lon, 0.0, lon, 0.0)[0]) == [100]


def test_only_a_tile_cached_or_being_rendered_waits_for_a_read_of_the_log(app, monkeypatch):
    cache = TileCache(app.state)
    cache.apply(changes(100))
    reads = []

    async def sync() -> None:
        reads.append(len(reads))

    monkeypatch.setattr(cache, "sync", sync)
    here, there = key("shelters", 16, *HERE), key("shelters", 16, *FAR)
    slow = asyncio.Event()

    async def render(body: bytes, wait: bool = False) -> Rendered:
        if wait:
            await slow.wait()
        return Rendered(body)

    async def scenario() -> list[bytes]:
        fresh = await cache.tile(here, lambda: render(b"here"))
        assert reads == []  # rendered at once: its snapshot postdates the request
        cached = await cache.tile(here, lambda: render(b"again"))
        assert reads == [0]
        first = asyncio.ensure_future(cache.tile(there, lambda: render(b"there", wait=True)))
        await asyncio.sleep(0)
        assert reads == [0]
        joining = asyncio.ensure_future(cache.tile(there, lambda: render(b"other")))
        await asyncio.sleep(0)
        assert reads == [0, 1]  # it may share the render under way once the log is read
        slow.set()
        return [fresh.body, cached.body, (await first).body, (await joining).body]

    assert asyncio.run(scenario()) == [b"here", b"here", b"there", b"there"]


def test_requests_share_a_render_unless_a_change_came_since(app):
    cache = TileCache(app.state)
    cache.apply(changes(100))
    here = key("shelters", 16, *HERE)
    renders: list[asyncio.Event] = []

    def render() -> Awaitable[Rendered]:
        done = asyncio.Event()
        renders.append(done)
        body = f"render {len(renders)}".encode()

        async def finish() -> Rendered:
            await done.wait()
            return Rendered(body)

        return finish()

    async def scenario() -> list[bytes]:
        first = asyncio.ensure_future(cache.fill(here, render))
        second = asyncio.ensure_future(cache.fill(here, render))
        await asyncio.sleep(0)
        assert len(renders) == 1
        cache.apply(changes(100, (1, 100, ["shelters"], *HERE, *HERE)))
        third = asyncio.ensure_future(cache.fill(here, render))
        await asyncio.sleep(0)
        assert len(renders) == 2
        for done in renders:
            done.set()
        return [(await request).body for request in (first, second, third)]

    assert asyncio.run(scenario()) == [b"render 1", b"render 1", b"render 2"]
    assert cache.get(here).body == b"render 2"


def test_callers_share_a_read_begun_after_they_came_and_each_may_leave(app, monkeypatch):
    from app.ogc.tiles import cache as module

    cache = TileCache(app.state)
    reads: list[asyncio.Future] = []

    async def read(state, work, **options) -> Changes:
        reads.append(asyncio.get_running_loop().create_future())
        return await reads[-1]

    monkeypatch.setattr(module, "hot_read", read)

    async def settle() -> None:  # every task ready runs as far as it can
        for _ in range(5):
            await asyncio.sleep(0)

    async def scenario() -> None:
        first, second = (asyncio.ensure_future(cache.sync()) for _ in range(2))
        await settle()
        assert len(reads) == 1
        later = asyncio.ensure_future(cache.sync())  # came during the read: waits for the next
        leaving = asyncio.ensure_future(cache.sync())
        await settle()
        leaving.cancel()  # its client gone: the read goes on for the others
        reads[0].set_result(changes(100))
        await asyncio.gather(first, second)
        assert not later.done()
        await settle()
        assert len(reads) == 2
        reads[1].set_exception(OperationalError(None, None, Exception("lost")))
        with pytest.raises(OperationalError):  # its 503
            await later
        assert leaving.cancelled()
        # A read cancelled (the process stopping) cancels its waiters; the next caller
        # starts another.
        stopped = asyncio.ensure_future(cache.sync())
        await settle()
        cache._current.cancel()
        await settle()
        assert stopped.cancelled()
        after = asyncio.ensure_future(cache.sync())
        await settle()
        reads[-1].set_result(changes(100))
        await after
        assert len(reads) == 4
        # ... also one cancelled while it waited for the read before it to end
        first = asyncio.ensure_future(cache.sync())
        await settle()
        queued = asyncio.ensure_future(cache.sync())
        await settle()
        cache._next.cancel()
        await settle()
        assert queued.cancelled()
        reads[-1].set_result(changes(100))
        await first
        last = asyncio.ensure_future(cache.sync())
        await settle()
        reads[-1].set_result(changes(100))
        await asyncio.wait_for(last, 1)
        assert len(reads) == 6

    asyncio.run(scenario())
