"""The web's conventions on every route: CORS, compression, HEAD and cache headers
(app/core/cors.py, compression.py, middleware.py), through the real app."""

import gzip

import brotli
import pytest
import zstandard
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import sessionmaker

from app.core.compression import negotiate
from app.db.replicas import Reads
from app.main import create_app

PAGE = "https://map.example.org"
STRANGER = "https://elsewhere.example.com"
TILEJSON = "/ogc/collections/facilities/tiles/WebMercatorQuad/tilejson.json"


@pytest.fixture
def web_app(settings, engine, connection) -> FastAPI:
    app = create_app(settings.model_copy(update={"cors_origins": [PAGE]}))
    app.state.sessionmaker = sessionmaker(
        connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    app.state.reads = Reads(app.state.sessionmaker)
    return app


@pytest.fixture
def anon(web_app) -> TestClient:
    return TestClient(web_app)


@pytest.fixture
def keyed(web_app, make_key) -> TestClient:
    return TestClient(web_app, headers={"Authorization": f"Bearer {make_key('admin')}"})


# --- CORS ---------------------------------------------------------------------------


def test_public_reads_answer_any_origin_without_credentials(anon):
    for origin in (PAGE, STRANGER, None):
        headers = {"Origin": origin} if origin else {}
        response = anon.get(TILEJSON, headers=headers)
        assert response.status_code == 200
        assert response.headers["access-control-allow-origin"] == "*"
        assert "access-control-allow-credentials" not in response.headers
        assert "etag" in response.headers["access-control-expose-headers"].lower()


def test_keyed_requests_answer_configured_origins_only(keyed):
    mine = keyed.get("/v1/facilities", headers={"Origin": PAGE})
    assert mine.status_code == 200
    assert mine.headers["access-control-allow-origin"] == PAGE
    assert "Origin" in mine.headers["vary"]
    theirs = keyed.get("/v1/facilities", headers={"Origin": STRANGER})
    assert theirs.status_code == 200  # answered, but the browser keeps it from the page
    assert "access-control-allow-origin" not in theirs.headers
    assert "Origin" in theirs.headers["vary"]


def test_writes_from_a_stranger_get_no_cors_headers(anon):
    response = anon.post("/v1/facilities", json={}, headers={"Origin": STRANGER})
    assert response.status_code == 401
    assert "access-control-allow-origin" not in response.headers


def test_preflight_of_a_keyed_request(anon):
    asked = {
        "Origin": PAGE,
        "Access-Control-Request-Method": "PATCH",
        "Access-Control-Request-Headers": "authorization, if-match, idempotency-key, content-type",
    }
    response = anon.options("/v1/facilities/1", headers=asked)
    assert response.status_code == 204 and not response.content
    assert response.headers["access-control-allow-origin"] == PAGE
    assert "PATCH" in response.headers["access-control-allow-methods"]
    allowed = {
        h.strip().lower() for h in response.headers["access-control-allow-headers"].split(",")
    }
    assert {"authorization", "if-match", "idempotency-key", "content-type"} <= allowed
    assert "Origin" in response.headers["vary"]
    refused = anon.options("/v1/facilities/1", headers={**asked, "Origin": STRANGER})
    assert refused.status_code == 403
    assert "access-control-allow-origin" not in refused.headers
    assert "RF_CORS_ORIGINS" in refused.json()["detail"]


def test_preflight_of_a_public_read_from_anywhere(anon):
    response = anon.options(
        TILEJSON,
        headers={
            "Origin": STRANGER,
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "if-none-match",
        },
    )
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == "*"
    # a plain OPTIONS is no preflight: the routes do not answer it
    assert anon.options(TILEJSON).status_code == 405


def test_the_gates_refusals_reach_the_page(anon):
    response = anon.get(
        "/v1/facilities", headers={"Origin": PAGE, "Authorization": "Bearer not-a-key"}
    )
    assert response.status_code == 401
    assert response.headers["access-control-allow-origin"] == PAGE


def test_cors_origins_setting_refuses_what_is_no_origin(settings):
    for bad in ("map.example.org", "https://map.example.org/path", "ftp://x"):
        with pytest.raises(ValueError, match="is not an origin"):
            settings.model_validate({"cors_origins": bad})
    parsed = settings.model_validate({"cors_origins": "https://a.example, http://b:8080/"})
    assert parsed.cors_origins == ["https://a.example", "http://b:8080"]


# --- compression --------------------------------------------------------------------

DECODE = {
    "gzip": gzip.decompress,
    "br": brotli.decompress,
    "zstd": lambda body: zstandard.ZstdDecompressor().decompressobj().decompress(body),
}


def raw(client: TestClient, url: str, **headers: str):
    """The answer's bytes as sent, not decoded by the client."""
    with client.stream("GET", url, headers=headers) as response:
        return response, b"".join(response.iter_raw())


@pytest.mark.parametrize("coding", ["gzip", "br", "zstd"])
def test_json_is_compressed_in_the_coding_asked(anon, coding):
    response, body = raw(anon, "/ogc/api", **{"Accept-Encoding": coding})
    assert response.headers["content-encoding"] == coding
    plain, plain_body = raw(anon, "/ogc/api", **{"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers
    assert DECODE[coding](body) == plain_body
    assert len(body) < len(plain_body) / 3
    assert int(response.headers["content-length"]) == len(body)
    assert "Accept-Encoding" in response.headers["vary"]
    assert "Accept-Encoding" in plain.headers["vary"]


def test_small_answers_and_refusals_stay_plain(anon):
    small, _ = raw(anon, TILEJSON, **{"Accept-Encoding": "gzip"})
    assert len(_) < 1024 and "content-encoding" not in small.headers
    missing, _ = raw(anon, "/v1/facilities/999999999", **{"Accept-Encoding": "gzip"})
    assert missing.status_code == 404 and "content-encoding" not in missing.headers


def test_negotiation_follows_q_values():
    assert negotiate("gzip, deflate, br, zstd") == "zstd"
    assert negotiate("gzip;q=1, br;q=0.5") == "gzip"
    assert negotiate("br;q=0, *") == "zstd"
    assert negotiate("zstd;q=0, br;q=0, gzip;q=0") is None
    assert negotiate("identity") is None
    assert negotiate("gzip;q=nonsense, br") == "br"


def test_streamed_answers_are_compressed_as_they_go(keyed, create):
    create()
    url = "/v1/export?format=geojson&admin_code=340104"
    response, body = raw(keyed, url, **{"Accept-Encoding": "gzip"})
    assert response.status_code == 200, body[:300]
    assert response.headers["content-encoding"] == "gzip"
    assert "content-length" not in response.headers
    plain, plain_body = raw(keyed, url, **{"Accept-Encoding": "identity"})
    assert gzip.decompress(body) == plain_body
    assert "天鹅湖小区人防地下车库".encode() in plain_body


def test_files_that_offer_ranges_stay_as_they_are(keyed, create):
    create()
    response, body = raw(keyed, "/v1/export?format=gpkg", **{"Accept-Encoding": "gzip, br"})
    assert response.status_code == 200
    assert "content-encoding" not in response.headers
    assert body.startswith(b"SQLite format 3")


# --- HEAD -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url", ["/healthz", TILEJSON, "/ogc/api", "/ogc/collections/facilities/items?limit=2"]
)
def test_head_answers_as_get_without_the_body(anon, url):
    for coding in ("identity", "br"):
        got, body = raw(anon, url, **{"Accept-Encoding": coding})
        head = anon.head(url, headers={"Accept-Encoding": coding})
        assert head.status_code == got.status_code == 200
        assert head.content == b""
        for name in ("content-type", "content-length", "content-encoding", "cache-control"):
            assert head.headers.get(name) == got.headers.get(name), name
        assert int(head.headers["content-length"]) == len(body)


def test_head_of_a_missing_resource_is_404(anon):
    head = anon.head("/v1/facilities/999999999")
    assert head.status_code == 404 and head.content == b""


# --- cache headers ------------------------------------------------------------------


def test_public_reads_may_be_cached_and_vary_on_the_key(anon, keyed):
    public = anon.get("/v1/facilities")
    assert public.headers["cache-control"] == "public, max-age=60, stale-while-revalidate=300"
    assert "Authorization" in public.headers["vary"]
    private = keyed.get("/v1/facilities")
    assert private.headers["cache-control"] == "private, no-cache"
    assert "Authorization" in private.headers["vary"]


def test_errors_and_probes_are_never_stored(anon):
    assert anon.get("/v1/facilities/999999999").headers["cache-control"] == "no-store"
    assert anon.get("/healthz").headers["cache-control"] == "no-store"
    assert anon.get("/readyz").headers["cache-control"] == "no-store"


def test_a_route_that_says_how_long_keeps_it(anon, create):
    from tests.tiles.test_router import tile_url

    create()
    tile = anon.get(tile_url("shelters", 16))
    assert tile.headers["cache-control"] == "public, max-age=0, must-revalidate"
