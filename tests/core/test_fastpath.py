"""The fast path (app/core/fastpath.py) answers cached tiles, their 304s, TileJSON and
/healthz without FastAPI, under the same rules as every other answer: the gate's keys and
rate limits, CORS, HEAD, compression and cache headers."""

import brotli
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import sessionmaker

from app.core.fastpath import FastPath
from app.db.replicas import Reads
from app.main import create_app
from app.ogc.tiles.router import tile_cache
from tests.tiles.test_router import tile_url

TILEJSON = "/ogc/collections/facilities/tiles/WebMercatorQuad/tilejson.json"
# a tile body over the compression threshold, as a dense tile's
BIG = b"\x1a\x0bfacilities" + bytes(range(64)) * 40


class Counted:
    """The app behind the fast path, counting the requests that reach it."""

    def __init__(self, app) -> None:
        self.app, self.calls = app, 0

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http":
            self.calls += 1
        await self.app(scope, receive, send)


def behind_fast_path(app: FastAPI) -> Counted:
    TestClient(app).get("/healthz")  # builds the middleware stack
    layer = app.middleware_stack
    while not isinstance(layer, FastPath):
        layer = layer.app
    layer.app = Counted(layer.app)
    return layer.app


def make_app(settings, connection, **update) -> FastAPI:
    app = create_app(
        settings.model_copy(update={"cors_origins": ["https://map.example.org"], **update})
    )
    app.state.sessionmaker = sessionmaker(
        connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    app.state.reads = Reads(app.state.sessionmaker)
    return app


@pytest.fixture
def fast(settings, connection) -> tuple[FastAPI, Counted]:
    app = make_app(settings, connection)
    return app, behind_fast_path(app)


def cached_big_tile(app: FastAPI, client: TestClient) -> str:
    url = tile_url("facilities", 15)
    assert client.get(url).status_code in (200, 204)  # rendered and cached by the route
    cache = tile_cache(app)
    key = ("facilities", *map(int, url.rsplit("/", 3)[1:]))
    cache.put(key, BIG, cache.generation)
    return url


def test_a_cached_tile_skips_the_framework(fast, create):
    app, inner = fast
    client = TestClient(app)
    create()
    url = tile_url("facilities", 16)
    first = client.get(url)
    assert first.status_code == 200 and inner.calls == 1
    again = client.get(url)
    assert again.content == first.content and again.headers["etag"] == first.headers["etag"]
    assert again.headers["cache-control"] == first.headers["cache-control"]
    revalidated = client.get(url, headers={"If-None-Match": first.headers["etag"]})
    assert revalidated.status_code == 304 and not revalidated.content
    assert inner.calls == 1
    # a query string goes to the route, which checks its parameters
    client.get(url + "?f=mvt")
    assert inner.calls == 2


def test_a_cached_tile_is_compressed_once(fast):
    app, inner = fast
    client = TestClient(app)
    url = cached_big_tile(app, client)
    calls = inner.calls
    with client.stream("GET", url, headers={"Accept-Encoding": "br"}) as response:
        body = b"".join(response.iter_raw())
    assert response.headers["content-encoding"] == "br"
    assert brotli.decompress(body) == BIG
    tag = response.headers["etag"]
    assert tag.endswith('-br"') and "Accept-Encoding" in response.headers["vary"]
    plain = client.get(url, headers={"Accept-Encoding": "identity"})
    assert plain.content == BIG and plain.headers["etag"] == tag.replace("-br", "")
    assert client.get(url, headers={"If-None-Match": tag}).status_code == 304
    assert inner.calls == calls
    found = tile_cache(app)._tiles[("facilities", *map(int, url.rsplit("/", 3)[1:]))]
    assert ("br", False) in found.answers  # kept with the tile: compressed once


def test_a_bad_key_is_refused_before_a_cached_tile(fast, create, make_key):
    app, inner = fast
    create()
    url = tile_url("facilities", 16)
    TestClient(app).get(url)
    refused = TestClient(app).get(url, headers={"Authorization": "Bearer wrong"})
    assert refused.status_code == 401
    good = TestClient(app, headers={"Authorization": f"Bearer {make_key('gis')}"})
    assert good.get(url).status_code == 200
    assert inner.calls == 1


def test_rate_limits_hold_on_the_fast_path(settings, connection, create):
    app = make_app(settings, connection, map_rate_per_minute=1, map_burst=4)
    inner = behind_fast_path(app)
    create()
    client = TestClient(app)
    url = tile_url("facilities", 16)
    assert [client.get(url).status_code for _ in range(5)] == [200] * 4 + [429]
    assert inner.calls == 1


def test_cors_and_head_hold_on_the_fast_path(fast, create):
    app, inner = fast
    client = TestClient(app)
    url = cached_big_tile(app, client)
    calls = inner.calls
    cross = client.get(url, headers={"Origin": "https://anywhere.example"})
    assert cross.headers["access-control-allow-origin"] == "*"
    head = client.head(url, headers={"Accept-Encoding": "gzip"})
    assert head.status_code == 200 and head.content == b""
    got = client.get(url, headers={"Accept-Encoding": "gzip"})
    assert head.headers["content-length"] == got.headers["content-length"]
    assert head.headers["etag"] == got.headers["etag"]
    assert inner.calls == calls


def test_tilejson_is_kept_per_host_and_kind_of_caller(fast, make_key):
    app, inner = fast
    anon = TestClient(app)
    first = anon.get(TILEJSON)
    assert anon.get(TILEJSON).json() == first.json()
    assert inner.calls == 1
    assert first.headers["cache-control"].startswith("public")
    other = anon.get(TILEJSON, headers={"Host": "tiles.example.org"})
    assert other.json()["tiles"][0].startswith("http://tiles.example.org/")
    keyed = TestClient(app, headers={"Authorization": f"Bearer {make_key('gis')}"})
    assert keyed.get(TILEJSON).headers["cache-control"] == "private, no-cache"
    assert inner.calls == 3


def test_healthz_skips_the_framework(fast):
    app, inner = fast
    client = TestClient(app)
    calls = inner.calls
    for _ in range(3):
        answer = client.get("/healthz")
        assert answer.json() == {"status": "ok"}
        assert answer.headers["cache-control"] == "no-store"
    assert inner.calls <= calls + 1
