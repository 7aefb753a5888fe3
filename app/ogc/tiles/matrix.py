"""WebMercatorQuad arithmetic shared by the tile SQL and the cache's invalidation: which
tiles draw something at a position. Units: a tile is 1 wide, columns grow east and rows
south, as in the tile matrix set."""

import math
from dataclasses import dataclass

from app.core.geo import CoordSys

TILE_MATRIX_SET = "WebMercatorQuad"
MIN_ZOOM = 0
# Points are exact to 15 cm at 16; clients overzoom beyond it.
MAX_ZOOM = 16
# Below this zoom a layer is drawn as clusters, one per grid cell: a z14 tile of the
# million-facility set holds 9,600 facilities (850 KB with their names), a z15 one 2,800.
DETAIL_ZOOM = 15
EXTENT = 4096
# The cluster grid: CELLS x CELLS cells a tile, and the buffer is one cell wide, so a tile
# draws whole cells only: its own and the ring around it.
CELLS = 64
BUFFER = EXTENT // CELLS
# Half the world's width in EPSG:3857 metres.
ORIGIN = 20037508.342789244
# Positions this close to a tile or cell edge count on both sides: the SQL and this module
# round differently in the last bits.
EPSILON = 1e-6


def tile_size(z: int) -> float:
    """A tile's width in EPSG:3857 metres."""
    return 2 * ORIGIN / 2**z


def _column(lon: float, z: int) -> float:
    return (lon + 180) / 360 * 2**z


def _row(lat: float, z: int) -> float:
    phi = math.radians(lat)
    return (1 - math.log(math.tan(phi) + 1 / math.cos(phi)) / math.pi) / 2 * 2**z


def _tiles(low: float, high: float, z: int) -> range:
    """Tiles whose span, widened by the buffer, meets [low, high] (tile units)."""
    if z < DETAIL_ZOOM:
        # a cluster stands for its whole cell; tile t draws cells t*CELLS - 1 .. t*CELLS + CELLS
        first_cell = math.floor(low * CELLS - EPSILON)
        last_cell = math.floor(high * CELLS + EPSILON)
        first, last = math.ceil((first_cell - CELLS) / CELLS), (last_cell + 1) // CELLS
    else:
        margin = BUFFER / EXTENT + EPSILON
        first, last = math.ceil(low - 1 - margin), math.floor(high + margin)
    return range(max(first, 0), min(last, 2**z - 1) + 1)


def touched(z: int, west: float, south: float, east: float, north: float) -> tuple[range, range]:
    """The columns and rows of the tiles at zoom z that draw anything at a position in the
    box (lon/lat): the tiles a change there makes stale."""
    return _tiles(_column(west, z), _column(east, z), z), _tiles(_row(north, z), _row(south, z), z)


@dataclass(frozen=True)
class TileSet:
    """A tile set of every collection: the WebMercatorQuad grid, with features at their
    positions in `coordsys`."""

    id: str
    coordsys: CoordSys
    title: str
    # The CRS of the tiles' positions, and the suffix of the cache's collection keys.
    crs: str
    key_suffix: str


WEB_MERCATOR = TileSet(
    TILE_MATRIX_SET,
    CoordSys.wgs84,
    "Google Maps Compatible for the World",
    "http://www.opengis.net/def/crs/EPSG/0/3857",
    "",
)
# Amap and Tencent draw their base maps in GCJ-02, on the WebMercatorQuad grid: features
# shifted to GCJ-02 land where those maps show them. Baidu's base maps are not on this
# grid (BD-09 Mercator, its own origin and zoom levels), so no BD-09 set is offered.
GCJ02 = TileSet(
    "WebMercatorQuadGCJ02",
    CoordSys.gcj02,
    "WebMercatorQuad for GCJ-02 base maps (Amap, Tencent)",
    "urn:rf-registry:crs:gcj02-mercator",
    "@gcj02",
)
TILE_SETS = {tile_set.id: tile_set for tile_set in (WEB_MERCATOR, GCJ02)}
# How far GCJ-02 moves a position, at most, in degrees: about 0.0087 of longitude and
# 0.0037 of latitude anywhere in China, rounded up. A GCJ-02 tile finds its rows within
# this much of its box, and a change evicts the GCJ-02 tiles within this much of it.
GCJ02_REACH = 0.01
