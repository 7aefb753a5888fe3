"""A map page on another origin reads the API, as MapLibre does: TileJSON, then a tile.
The page is served from a port of its own, so every request it makes to the API is a
cross-origin one, and Chromium enforces CORS on it."""

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.browser.conftest import watched
from tests.conftest import free_port
from tests.live import Server

TILEJSON = "/ogc/collections/facilities/tiles/WebMercatorQuad/tilejson.json"
# What a map page does with the API: a public read, then a tile from the TileJSON's
# template (z14 over Hefei's centre), then a request with a key.
SCRIPT = """async ([api, key, tilejsonPath]) => {
  const tilejson = await (await fetch(api + tilejsonPath)).json();
  const url = tilejson.tiles[0].replace("{z}", "14").replace("{x}", "13527").replace("{y}", "6663");
  const tile = await fetch(url);
  const bytes = (await tile.arrayBuffer()).byteLength;
  let keyed;
  try {
    const answer = await fetch(api + "/v1/facilities?limit=1", {headers: {Authorization: "Bearer " + key}});
    keyed = answer.status;
  } catch (error) {
    keyed = "blocked";
  }
  return {tilejson: tilejson.tilejson, tile: tile.status, type: tile.headers.get("content-type"), bytes, keyed};
}"""


class Page(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"<!DOCTYPE html><html><head><title>map</title></head><body>map</body></html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


def page_server() -> tuple[ThreadingHTTPServer, str]:
    port = free_port()
    server = ThreadingHTTPServer(("127.0.0.1", port), Page)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{port}"


@pytest.fixture(scope="module")
def pages() -> Iterator[tuple[str, str]]:
    """Two map pages: one on an origin the API lists, one elsewhere."""
    listed, listed_origin = page_server()
    other, other_origin = page_server()
    yield listed_origin, other_origin
    listed.shutdown()
    other.shutdown()


@pytest.fixture(scope="module")
def api(registry, pages, tmp_path_factory) -> Iterator[Server]:
    server = Server(registry[0], {"RF_CORS_ORIGINS": pages[0]}, tmp_path_factory.mktemp("cors"))
    yield server
    server.stop()


def test_a_page_on_another_origin_loads_tilejson_and_a_tile(browser, api, pages, registry):
    origin = pages[0]
    page, watch = watched(browser, (origin, api.base))
    page.goto(origin)
    result = page.evaluate(SCRIPT, [api.base, registry[1], TILEJSON])
    page.context.close()
    assert watch.errors == [] and watch.blocked == []
    assert result["tilejson"] == "3.0.0"
    assert result["tile"] == 200 and result["bytes"] > 0
    assert result["type"] == "application/vnd.mapbox-vector-tile"
    assert result["keyed"] == 200  # the listed origin may send a key


def test_a_page_elsewhere_reads_public_answers_only(browser, api, pages, registry):
    origin = pages[1]
    page, watch = watched(browser, (origin, api.base))
    page.goto(origin)
    result = page.evaluate(SCRIPT, [api.base, registry[1], TILEJSON])
    page.context.close()
    assert result["tilejson"] == "3.0.0" and result["tile"] == 200
    assert result["keyed"] == "blocked"
    assert watch.blocked == []
    assert len(watch.errors) >= 1 and all("CORS" in e or "Failed" in e for e in watch.errors)
