"""The fast path (app/core/fastpath.py) answers cached tiles, their 304s, TileJSON and
/healthz without FastAPI, under the same rules as every other answer: the gate's keys and
rate limits, CORS, HEAD, compression and cache headers."""

import asyncio
from urllib.parse import quote

import brotli
import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import sessionmaker

from app.accounts.gate import Gate
from app.db.replicas import Reads
from app.main import create_app
from app.ogc.tiles import repository
from app.ogc.tiles.router import tile_cache
from tests.tiles.test_router import tile_url

TILEJSON = "/ogc/collections/facilities/tiles/WebMercatorQuad/tilejson.json"
# a tile body over the compression threshold, as a dense tile's
BIG = b"\x1a\x0bfacilities" + bytes(range(64)) * 40


class Counted:
    """The app behind the gate, counting the requests that reach it: those the fast path
    did not answer and the gate let through."""

    def __init__(self, app) -> None:
        self.app, self.calls = app, 0

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http":
            self.calls += 1
        await self.app(scope, receive, send)


def behind_fast_path(app: FastAPI) -> Counted:
    TestClient(app).get("/healthz")  # builds the middleware stack
    layer = app.middleware_stack
    while not isinstance(layer, Gate):
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


def test_a_cached_tiles_address_in_other_digits_is_refused_as_the_route_refuses_it(fast, create):
    app, inner = fast
    client = TestClient(app)
    create()
    url = tile_url("facilities", 16)
    assert client.get(url).status_code == 200 and inner.calls == 1
    # z 16 in Arabic-Indic digits: int() reads it, the route's int parameter does not
    z = quote("١٦")
    refused = client.get(url.replace("/16/", f"/{z}/"))
    assert refused.status_code == 400 and inner.calls == 2
    assert refused.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize("big", [False, True])
def test_a_304_carries_the_tag_a_200_would_carry_now_on_both_paths(fast, create, big):
    """A tag of a coding the answer would not have now (a tile under the compression
    threshold, a client no longer taking gzip): the 304 names the tag of the answer this
    request would get (RFC 9110 §15.4.5), from the cache and from the route alike."""
    app, inner = fast
    client = TestClient(app)
    create()
    url = cached_big_tile(app, client) if big else tile_url("facilities", 16)
    plain = client.get(url, headers={"Accept-Encoding": "identity"}).headers["etag"]
    asked = {
        "If-None-Match": plain[:-1] + '-gzip"',
        "Accept-Encoding": "identity" if big else "gzip",
    }
    calls = inner.calls
    cached = client.get(url, headers=asked)
    routed = client.get(url + "?f=mvt", headers=asked)
    assert inner.calls == calls + 1  # the second from the route
    assert cached.status_code == routed.status_code == 304
    assert cached.headers["etag"] == routed.headers["etag"] == plain


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
    # the key's first request is the gate's to authenticate; its next ones are fast
    assert [good.get(url).status_code for _ in range(3)] == [200] * 3
    assert inner.calls == 2
    two = [("Authorization", "Bearer wrong"), ("Authorization", good.headers["authorization"])]
    assert TestClient(app).get(url, headers=two).status_code == 400
    assert inner.calls == 2


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


def test_requests_alike_wait_for_the_answer_the_app_is_making(fast, monkeypatch):
    """Ten requests for TileJSON at once, none kept yet: one goes to the app, the others
    are sent its answer when it comes."""
    app, inner = fast
    behind = inner.app

    async def slow(scope, receive, send):
        await asyncio.sleep(0.05)  # the others arrive meanwhile
        await behind(scope, receive, send)

    monkeypatch.setattr(inner, "app", slow)

    async def at_once():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            return await asyncio.gather(*(client.get(TILEJSON) for _ in range(10)))

    answers = asyncio.run(at_once())
    assert inner.calls == 1
    assert [a.status_code for a in answers] == [200] * 10
    assert all(a.content == answers[0].content for a in answers)
    assert all(a.headers == answers[0].headers for a in answers)


def test_healthz_skips_the_framework(fast):
    app, inner = fast
    client = TestClient(app)
    calls = inner.calls
    for _ in range(3):
        answer = client.get("/healthz")
        assert answer.json() == {"status": "ok"}
        assert answer.headers["cache-control"] == "no-store"
    assert inner.calls <= calls + 1


def test_a_revoked_key_is_refused_at_once_on_the_fast_path(fast, create, make_key):
    app, inner = fast
    create()
    url = tile_url("facilities", 16)
    admin = TestClient(app, headers={"Authorization": f"Bearer {make_key('admin')}"})
    secret = make_key("gis")
    gis = TestClient(app, headers={"Authorization": f"Bearer {secret}"})
    assert gis.get(url).status_code == 200 and gis.get(url).status_code == 200
    key_id = next(k["id"] for k in admin.get("/v1/admin/keys").json() if k["role"] == "gis")
    assert admin.delete(f"/v1/admin/keys/{key_id}").status_code in (200, 204)
    assert gis.get(url).status_code == 401


def test_a_token_is_taken_once_when_the_fast_path_passes_a_request_on(settings, connection, create):
    """The fast path admits a request for a tile, finds it not cached and passes it on:
    the gate lets it through without a second token."""
    app = make_app(settings, connection, map_rate_per_minute=1, map_burst=3)
    behind_fast_path(app)
    create()
    client = TestClient(app)
    url = tile_url("facilities", 16)
    client.get(url)  # the cache now holds the process's horizon; this tile is cached
    other = tile_url("facilities", 15)
    assert client.get(other).status_code in (200, 204)  # rendered: passed on once admitted
    assert client.get(url).status_code == 200
    assert client.get(url).status_code == 429


def test_cors_for_keyed_callers_holds_on_the_fast_path(fast, create, make_key):
    """A keyed answer names a listed origin, or none, and varies by Origin, as the route's
    own answer does; each kind of caller gets its own headers from the one kept answer."""
    app, inner = fast
    create()
    url = tile_url("facilities", 16)
    keyed = TestClient(app, headers={"Authorization": f"Bearer {make_key('gis')}"})
    listed = {"Origin": "https://map.example.org"}
    rendered = keyed.get(url, headers=listed)  # the gate's and the route's answer
    fast_listed = keyed.get(url, headers=listed)
    fast_other = keyed.get(url, headers={"Origin": "https://elsewhere.example"})
    fast_public = TestClient(app).get(url, headers=listed)
    assert inner.calls == 1
    assert fast_listed.headers == rendered.headers
    assert fast_listed.headers["access-control-allow-origin"] == "https://map.example.org"
    assert "Origin" in fast_listed.headers["vary"]
    assert "access-control-allow-origin" not in fast_other.headers
    assert "Origin" in fast_other.headers["vary"]
    assert fast_public.headers["access-control-allow-origin"] == "*"
    assert "Origin" not in fast_public.headers["vary"]


def test_a_refusal_is_the_gates_translated(settings, connection, create):
    """An empty bucket on the fast path: the gate refuses, its answer translated and with
    CORS headers as every problem answer."""
    app = make_app(settings, connection, map_rate_per_minute=1, map_burst=1)
    behind_fast_path(app)
    create()
    client = TestClient(app)
    url = tile_url("facilities", 16)
    assert client.get(url).status_code == 200
    refused = client.get(url, headers={"Accept-Language": "zh"})
    assert refused.status_code == 429 and refused.headers["content-language"] == "zh"
    assert refused.headers["access-control-allow-origin"] == "*"


def test_a_get_with_a_body_goes_past_the_fast_path(fast, settings):
    app, inner = fast
    client = TestClient(app)
    url = cached_big_tile(app, client)
    calls = inner.calls
    too_big = client.request("GET", url, content=b"x" * (settings.max_body_bytes + 1))
    assert too_big.status_code == 413
    assert inner.calls == calls + 1


def test_head_of_a_kept_answer_skips_the_framework(fast):
    app, inner = fast
    client = TestClient(app)
    got = client.get(TILEJSON)
    head = client.head(TILEJSON)
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-length"] == got.headers["content-length"]
    assert head.headers["cache-control"] == got.headers["cache-control"]
    assert inner.calls == 1


def test_the_fast_path_stands_before_the_framework(fast, create):
    """A cached tile is answered without entering FastAPI at all (its error handling and
    body limit included); what the fast path does not answer goes to the framework whole."""
    app, _ = fast
    create()
    url = tile_url("facilities", 16)
    client = TestClient(app)
    framework = Counted(app.fast_path.app)
    app.fast_path.app = framework
    assert client.get(url).status_code == 200  # rendered by the route: through the framework
    entered = framework.calls
    assert client.get(url).status_code == 200
    assert client.get("/v1/no-such-path").status_code == 404
    assert framework.calls == entered + 1


def test_whatever_fails_on_the_fast_path_is_left_to_the_app(fast, create, monkeypatch):
    """In front of the framework's error handling, the fast path renders no error: what
    raises while it looks for an answer (here, its admission) sends the request to the
    app, which answers it, or renders its own last resort when it fails the same way."""
    app, inner = fast
    create()
    url = tile_url("facilities", 16)
    client = TestClient(app, raise_server_exceptions=False)
    assert client.get(url).status_code == 200
    calls = inner.calls

    def broken(scope, authorization):
        raise RuntimeError("admission out of order")

    monkeypatch.setattr(app.fast_path, "admit", broken)
    again = client.get(url)
    assert again.status_code == 200 and inner.calls == calls + 1
    monkeypatch.setattr(inner, "app", broken_route)
    failed = client.get(url)
    assert failed.status_code == 500
    assert failed.headers["content-type"].startswith("application/problem+json")


async def broken_route(scope, receive, send):
    raise RuntimeError("route out of order")


def test_a_database_away_is_a_503_on_the_fast_path(fast, create, monkeypatch):
    app, _ = fast
    create()
    client = TestClient(app)
    url = tile_url("facilities", 16)
    assert client.get(url).status_code == 200

    def away(*args, **kwargs):
        raise OperationalError("SELECT", {}, Exception("connection refused"))

    monkeypatch.setattr(repository, "changes_since", away)
    answer = client.get(url)
    assert answer.status_code == 503
    assert answer.headers["content-type"].startswith("application/problem+json")
