import re
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Path, Request, Response
from starlette.types import Receive, Scope, Send

from app.core.compression import MIN_BYTES, coded_etag, compress, negotiate_header, plain_tags
from app.core.errors import NotFound, problem_responses
from app.core.fastpath import FastRoute, Ready
from app.db.session import hot_read
from app.ogc.documents import base_url
from app.ogc.params import OgcRoute
from app.ogc.service import extents
from app.ogc.tiles import documents, repository
from app.ogc.tiles.cache import Tile, TileCache
from app.ogc.tiles.layers import LAYERS, Layer
from app.ogc.tiles.matrix import MAX_ZOOM, MIN_ZOOM, TILE_SETS, TileSet

router = APIRouter(prefix="/ogc", tags=["OGC API - Tiles"], route_class=OgcRoute)

# Revalidate on every use: a write changes tiles at once, and revalidating a cached tile
# costs a 304 without a body.
CACHE_CONTROL = "public, max-age=0, must-revalidate"
TILESET = "/collections/{collection_id}/tiles/{tile_matrix_set}"


async def _layer(collection_id: Annotated[str, Path(max_length=100)]) -> Layer:
    found = LAYERS.get(collection_id)
    if found is None:
        raise NotFound(f"no collection {collection_id!r}; tiles exist for {', '.join(LAYERS)}")
    return found


LayerDep = Annotated[Layer, Depends(_layer)]


async def _tile_set(tile_matrix_set: Annotated[str, Path(max_length=100)]) -> TileSet:
    found = TILE_SETS.get(tile_matrix_set)
    if found is None:
        raise NotFound(
            f"no tile matrix set {tile_matrix_set!r}; tiles exist in {', '.join(TILE_SETS)}"
        )
    return found


TileSetDep = Annotated[TileSet, Depends(_tile_set)]


def tile_cache(app: FastAPI) -> TileCache:
    """The process's tile cache, made on first use: it reads the database through the
    app's read sessions."""
    if not hasattr(app.state, "tile_cache"):
        app.state.tile_cache = TileCache(app.state)
    return app.state.tile_cache


def _matches(if_none_match: bytes | None, etag: str) -> bool:
    # weak comparison (RFC 9110 13.1.2), the codings' suffixes taken off
    if if_none_match is None:
        return False
    plain = plain_tags(if_none_match).decode("latin-1")
    tags = {tag.strip().removeprefix("W/") for tag in plain.split(",")}
    return etag in tags or "*" in tags


def answer(tile: Tile, coding: str | None, if_none_match: bytes | None) -> Ready:
    """The answer to a request for `tile`, made once per coding and kind and kept with
    the tile: a cached tile is sent as it was compressed the first time."""
    if coding is not None and len(tile.body) < MIN_BYTES:
        coding = None
    # a client sends back the tag it was given: one comparison, the full rule otherwise
    not_modified = if_none_match is not None and (
        if_none_match in tile.tags or _matches(if_none_match, tile.etag)
    )
    found = tile.answers.get((coding, not_modified))
    if found is not None:
        return found
    etag = tile.etag if coding is None else coded_etag(tile.etag, coding)
    headers = [(b"etag", etag.encode()), (b"cache-control", CACHE_CONTROL.encode())]
    if tile.body:
        headers.append((b"vary", b"Accept-Encoding"))
    if not_modified:
        made = Ready.of(304, headers)
    elif not tile.body:
        made = Ready.of(204, headers)
    else:
        headers.append((b"content-type", documents.MVT.encode()))
        body = tile.body
        if coding is not None:
            body = compress(body, coding)
            headers.append((b"content-encoding", coding.encode()))
        made = Ready.of(200, headers, body)
    tile.answers[(coding, not_modified)] = made
    return made


class ReadyResponse(Response):
    """A `Ready` answer returned by a route."""

    def __init__(self, ready: Ready) -> None:
        self.ready = ready
        self.background = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.ready.send(send)


def _conditions(headers: dict[bytes, bytes]) -> tuple[str | None, bytes | None]:
    coding = headers.get(b"accept-encoding")
    return None if coding is None else negotiate_header(coding), headers.get(b"if-none-match")


async def cached_tile(
    scope: Scope, match: re.Match[str], headers: dict[bytes, bytes]
) -> Ready | None:
    """A tile from the cache without the framework (app.core.fastpath); None for any
    other, which the route below renders."""
    cache: TileCache | None = getattr(scope["app"].state, "tile_cache", None)
    if cache is None or scope["query_string"] or match[1] not in LAYERS:
        return None
    tile_set = TILE_SETS[match[2]]
    key = (match[1] + tile_set.key_suffix, int(match[3]), int(match[4]), int(match[5]))
    found = await cache.cached(key)
    return None if found is None else answer(found, *_conditions(headers))


@router.get("/tileMatrixSets")
async def tile_matrix_sets(request: Request) -> dict[str, Any]:
    """The tile matrix sets tiles are served in: WebMercatorQuad, and the same grid over
    GCJ-02 positions for Amap and Tencent base maps."""
    return documents.tile_matrix_sets(base_url(request))


@router.get("/tileMatrixSets/{tile_matrix_set}", responses=problem_responses(400, 404, 422))
async def tile_matrix_set(tile_set: TileSetDep) -> dict[str, Any]:
    """WebMercatorQuad (EPSG:3857), or WebMercatorQuadGCJ02."""
    return documents.tile_matrix_set(tile_set.id)


@router.get("/collections/{collection_id}/tiles", responses=problem_responses(400, 404))
async def tilesets(request: Request, layer: LayerDep) -> dict[str, Any]:
    """The vector tilesets of a collection."""
    return documents.tilesets(base_url(request), layer)


@router.get(TILESET, responses=problem_responses(400, 404))
async def tileset(request: Request, layer: LayerDep, tile_set: TileSetDep) -> dict[str, Any]:
    """The tileset: its layers, their properties and zooms, and the tile URL template."""
    return documents.tileset(base_url(request), layer, tile_set)


@router.get(f"{TILESET}/tilejson.json", responses=problem_responses(400, 404))
async def tilejson(request: Request, layer: LayerDep, tile_set: TileSetDep) -> dict[str, Any]:
    """TileJSON 3.0.0 with `vector_layers`, for MapLibre and friends; `bounds` are the
    collection's (in WGS 84, as TileJSON has them, whatever the tile set)."""
    # Divisions are a tileset, not a collection: their outlines span the tile matrix set.
    bounds = (
        await extents(request.app.state).get(request.app.state, [layer.id])
        if layer.clustered
        else {}
    )
    return documents.tilejson(base_url(request), layer, tile_set, bounds.get(layer.id))


@router.get(
    f"{TILESET}/{{z}}/{{x}}/{{y}}",
    response_class=Response,
    responses={
        200: {"content": {documents.MVT: {}}, "description": "The tile (Mapbox Vector Tile)"},
        204: {"description": "Nothing in this tile"},
        304: {"description": "The tile has not changed (If-None-Match)"},
        **problem_responses(400, 404),
    },
)
async def tile(
    request: Request, layer: LayerDep, tile_set: TileSetDep, z: int, x: int, y: int
) -> Response:
    """A vector tile: clusters per grid cell below zoom 15, single features from 15 to 16.
    `ETag` from the content; send it back in `If-None-Match` for a 304."""
    if not MIN_ZOOM <= z <= MAX_ZOOM:
        raise NotFound(f"zoom {z} is outside this tileset's {MIN_ZOOM} to {MAX_ZOOM}")
    if not (0 <= x < 2**z and 0 <= y < 2**z):
        raise NotFound(
            f"tile {x}/{y} is outside zoom {z}, whose columns and rows are 0 to {2**z - 1}"
        )
    coordsys = tile_set.coordsys
    stale_after_s = request.app.state.settings.shelter_status_stale_after_s
    found = await tile_cache(request.app).tile(
        (layer.id + tile_set.key_suffix, z, x, y),
        lambda: hot_read(
            request.app.state,
            lambda s: repository.render(
                s, layer, z, x, y, coordsys, shelter_stale_after_s=stale_after_s
            ),
            pinned=True,
        ),
    )
    return ReadyResponse(answer(found, *_conditions(dict(request.scope["headers"]))))


_SETS = "(" + "|".join(TILE_SETS) + ")"
_SET = r"/ogc/collections/[^/]+/tiles/" + _SETS
# Answers the same for every caller, kept by app.core.fastpath: the cached tiles and the
# documents describing them. ASCII digits only: `\d` also matches other scripts' digits
# ("١٤"), which int() reads as 14 but the route's int parameters refuse (400).
FAST_ROUTES = [
    FastRoute(
        rf"/ogc/collections/([^/]+)/tiles/{_SETS}/([0-9]{{1,2}})/([0-9]{{1,9}})/([0-9]{{1,9}})",
        cached_tile,
    ),
    FastRoute(_SET + "/tilejson.json"),
    FastRoute(_SET),
    FastRoute(r"/ogc/collections/[^/]+/tiles"),
    FastRoute(r"/ogc/tileMatrixSets(?:/" + _SETS + ")?"),
]
