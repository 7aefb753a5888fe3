"""The tile SQL: one statement renders a tile (ST_TileEnvelope, ST_AsMVTGeom, ST_AsMVT),
another reads what changed since a process last looked."""

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any, NamedTuple

import orjson
import psycopg
from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Float,
    Integer,
    Select,
    any_,
    bindparam,
    case,
    cast,
    func,
    literal_column,
    null,
    select,
)
from sqlalchemy.orm import Session

from app.core.dates import NEXT_DAY_SQL
from app.core.geo import CoordSys, Positions
from app.db.session import Prepared, one_row_waiting
from app.ogc.tiles.layers import LAYERS, Layer
from app.ogc.tiles.matrix import (
    BUFFER,
    CELLS,
    DETAIL_ZOOM,
    EXTENT,
    GCJ02_REACH,
    ORIGIN,
    tile_size,
)
from app.ogc.tiles.models import TileCell

# A tile's numbers are parameters of a statement built once per layer and kind: building
# it costs more than PostgreSQL takes to render most tiles.
Z, X, Y = (
    bindparam("z", type_=Integer),
    bindparam("x", type_=Integer),
    bindparam("y", type_=Integer),
)
ENVELOPE = func.ST_TileEnvelope(Z, X, Y)
# The tile widened by a margin, in the layers' EPSG:4326, so that the GiST index finds rows;
# cut at the antimeridian, past which longitudes wrap and would turn the box inside out.
WORLD = func.ST_MakeEnvelope(-ORIGIN, -2 * ORIGIN, ORIGIN, 2 * ORIGIN, 3857)
BOX = func.ST_Transform(
    func.ST_ClipByBox2D(func.ST_Expand(ENVELOPE, bindparam("margin", type_=Float)), WORLD), 4326
)
CELL = bindparam("cell", type_=Float)
# A quarter of the tile's grid step, in degrees of longitude (where a degree of latitude is
# longer in EPSG:3857): what an outline may be thinned by before ST_AsMVTGeom snaps it.
GRAIN = bindparam("grain", type_=Float)
# The levels of the cell pyramid (app/db/sql/functions/tile_cell_of.sql): a tile at zoom z
# draws the cells of level z + 6, which are those of the next stored level shifted right
# by SHIFT (2^SHIFT x 2^SHIFT stored cells to a drawn one).
STORED_LEVELS = range(6, 21, 2)
DRAWN_LEVEL = CELLS.bit_length() - 1
SHIFT = bindparam("shift", type_=Integer)
# The systems the pyramid has cells in (CGCS2000 is drawn as WGS 84); BD-09 has no tile set.
PYRAMID_COORDSYS = {CoordSys.wgs84: "wgs84", CoordSys.cgcs2000: "wgs84", CoordSys.gcj02: "gcj02"}


def _mvt_geom(geometry: ColumnElement) -> ColumnElement:
    return func.ST_AsMVTGeom(geometry, ENVELOPE, EXTENT, BUFFER, True).label("geom")


def _rows(
    source: Callable[[ColumnElement], Select], coordsys: CoordSys, *, outlines: bool = False
) -> Any:
    """The layer's rows near the tile, `location` in `coordsys`. Shifted positions are
    computed once per row (a materialized CTE): the cluster query reads each twice."""
    if not coordsys.shifted:
        return source(BOX).subquery()
    reach = func.ST_Expand(BOX, GCJ02_REACH)
    rows = source(reach).subquery()
    location = rows.c.location
    if outlines:
        # The shift moves vertex by vertex in PL/pgSQL (geometry_in_coordsys): an outline
        # is first cut to the tile's reach and thinned to a fraction of its grid, or a tile
        # at a low zoom shifts every vertex of every province in it.
        location = func.ST_Simplify(func.ST_ClipByBox2D(location, reach), GRAIN)
    moved = Positions(coordsys).sql(location).label("location")
    shifted = select(*(c for c in rows.c if c.key != "location"), moved)
    return shifted.cte("shifted").prefix_with("MATERIALIZED")


def _features(layer: Layer, coordsys: CoordSys) -> Select:
    rows = _rows(layer.detail_source, coordsys, outlines=not layer.clustered)
    attributes = [c for c in rows.c if c.key != "location"]
    return select(*attributes, _mvt_geom(func.ST_Transform(rows.c.location, 3857)))


def _clusters(layer: Layer, coordsys: CoordSys) -> Select:
    """One point per grid cell with rows in it, at their centroid, with their count and
    sums. Cells are fixed in the world, not in the tile, so neighbouring tiles agree."""
    rows = _rows(layer.source, coordsys)
    # EPSG:3857 by its formulas: PostgreSQL inlines subqueries, and would run ST_Transform
    # once for each use of its result
    px = func.ST_X(rows.c.location) * (ORIGIN / 180)
    latitude = func.radians(func.ST_Y(rows.c.location) * 0.5 + 45.0)
    py = func.ln(func.tan(latitude)) * (ORIGIN / math.pi)
    points = select(
        *(rows.c[name] for name in layer.sums),
        px.label("px"),
        py.label("py"),
        func.floor((px + ORIGIN) / CELL).label("column"),
        func.floor((ORIGIN - py) / CELL).label("row"),
    ).subquery()
    centroid = func.ST_SetSRID(
        func.ST_MakePoint(func.avg(points.c.px), func.avg(points.c.py)), 3857
    )
    return (
        select(
            func.count().label("count"),
            *(func.sum(points.c[name]).label(name) for name in layer.sums),
            _mvt_geom(centroid),
        )
        .where(
            points.c.column.between(bindparam("first_column"), bindparam("last_column")),
            points.c.row.between(bindparam("first_row"), bindparam("last_row")),
        )
        .group_by(points.c.column, points.c.row)
    )


def _cells(layer: Layer, coordsys: CoordSys) -> Select:
    """The clusters of `_clusters` from the cell pyramid: the tile's drawn cells and the
    ring around it, each the sum of its stored cells (one, or 2 x 2), read by one index
    range per stored column."""
    count = func.sum(TileCell.count)
    stored = (
        (TileCell.sum_1, TileCell.known_1),
        (TileCell.sum_2, TileCell.known_2),
        (TileCell.sum_3, TileCell.known_3),
    )
    # as sum() in _clusters: null when no row has a value
    sums = (
        case((func.sum(known) > 0, cast(func.sum(total), BigInteger))).label(name)
        for name, (total, known) in zip(layer.sums, stored, strict=False)
    )
    rows = cast(count, Float)
    centroid = func.ST_SetSRID(
        func.ST_MakePoint(func.sum(TileCell.sum_px) / rows, func.sum(TileCell.sum_py) / rows), 3857
    )
    columns = select(
        func.generate_series(
            bindparam("first_column", type_=Integer).op("<<")(SHIFT),
            (bindparam("last_column", type_=Integer) + 1).op("<<")(SHIFT) - 1,
        )
    ).scalar_subquery()
    return (
        select(cast(count, BigInteger).label("count"), *sums, _mvt_geom(centroid))
        .where(
            TileCell.layer == layer.id,
            TileCell.coordsys == PYRAMID_COORDSYS[coordsys],
            TileCell.level == Z + DRAWN_LEVEL + SHIFT,
            TileCell.x == any_(func.array(columns)),
            TileCell.y.between(
                bindparam("first_row", type_=Integer).op("<<")(SHIFT),
                (bindparam("last_row", type_=Integer) + 1).op("<<")(SHIFT) - 1,
            ),
        )
        .group_by(TileCell.x.op(">>")(SHIFT), TileCell.y.op(">>")(SHIFT))
    )


def _from_pyramid(layer: Layer, coordsys: CoordSys) -> bool:
    return layer.pyramid and coordsys in PYRAMID_COORDSYS


def mvt_statement(layer: Layer, rows: Select, clustered: bool) -> Select:
    """The MVT of the features `rows`, and the Unix time at which it goes stale by time
    alone (or null)."""
    features = rows.subquery("tile")
    name = f"{layer.id}_clusters" if clustered else layer.id
    mvt = func.ST_AsMVT(literal_column("tile"), name, EXTENT, "geom")
    expiry = null()
    if layer.daily:
        expiry = literal_column(NEXT_DAY_SQL)
    elif layer.expiry is not None and not clustered:
        expiry = func.min(features.c[layer.expiry])
    return select(mvt, expiry).select_from(features)


@cache
def tile_statement(layer_id: str, clustered: bool, coordsys: CoordSys = CoordSys.wgs84) -> Select:
    """The tile, and the Unix time at which it goes stale by time alone (or null)."""
    layer = LAYERS[layer_id]
    if not clustered:
        features = _features(layer, coordsys)
    elif _from_pyramid(layer, coordsys):
        features = _cells(layer, coordsys)
    else:
        features = _clusters(layer, coordsys)
    return mvt_statement(layer, features, clustered)


def tile_params(z: int, x: int, y: int, clustered: bool) -> dict[str, int | float]:
    if not clustered:
        step = tile_size(z) / EXTENT
        return {"z": z, "x": x, "y": y, "margin": step * BUFFER, "grain": step * 45 / ORIGIN}
    cell = tile_size(z) / CELLS
    return {
        "z": z,
        "x": x,
        "y": y,
        # a little over one cell: the cell numbers decide exactly which rows count
        "margin": cell * 1.01,
        "cell": cell,
        # the tile's cells and the ring around it
        "first_column": x * CELLS - 1,
        "last_column": x * CELLS + CELLS,
        "first_row": y * CELLS - 1,
        "last_row": y * CELLS + CELLS,
        # the pyramid's stored level is this much finer than the drawn one
        "shift": min(level for level in STORED_LEVELS if level >= z + DRAWN_LEVEL)
        - (z + DRAWN_LEVEL),
    }


class Rendered(NamedTuple):
    body: bytes
    # Unix time at which what the tile shows goes stale with no write (a shelter's live
    # status); None when never
    until: float | None = None


def render(
    session: Session,
    layer: Layer,
    z: int,
    x: int,
    y: int,
    coordsys: CoordSys = CoordSys.wgs84,
    *,
    shelter_stale_after_s: int,
) -> Rendered:
    """The tile as MVT, features at their positions in `coordsys`; empty bytes when
    nothing is in it."""
    clustered = layer.clustered and z < DETAIL_ZOOM
    statement = tile_statement(layer.id, clustered, coordsys)
    params = {**tile_params(z, x, y, clustered), "shelter_stale_after_s": shelter_stale_after_s}
    body, until = session.execute(statement, params).one()
    return Rendered(bytes(body), None if until is None else float(until))


@dataclass(frozen=True)
class Changes:
    """What the log holds beyond a horizon: the xmin of the snapshot that read it (the next
    horizon), the largest pruned xid, and the changes as (id, xid, collections, west,
    south, east, north)."""

    horizon: int
    pruned_xid: int
    rows: list[tuple]


# Every transaction not yet committed when the snapshot was taken has an xid at or above
# its xmin: reading from there on again next time misses none, whatever order
# transactions commit in (changes read twice are recognised by id). A first read starts
# at the xmin, so that it knows the changes a second read would find again.
CHANGES_SINCE = Prepared.of("""
    WITH snapshot AS (SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint AS oldest)
    SELECT oldest,
           (SELECT pruned_xid FROM tile_change_horizon),
           (SELECT json_agg(json_build_array(id, xid, collections, west, south, east, north))
            FROM tile_change WHERE xid >= least(:horizon, oldest))
    FROM snapshot
""")


async def changes_since(connection: psycopg.Connection, horizon: int) -> Changes:
    # Read for every few cached tiles served: one row through libpq, as psycopg's and
    # SQLAlchemy's handling of the statement cost more CPU than the query itself, waited
    # for as the loop serves other requests (db.session.one_row_waiting). Most reads find
    # no change.
    params = {"horizon": horizon}
    oldest, pruned_xid, rows = await one_row_waiting(connection, CHANGES_SINCE, params)
    return Changes(
        int.from_bytes(oldest, signed=True),
        int.from_bytes(pruned_xid, signed=True),
        [] if rows is None else [tuple(row) for row in orjson.loads(rows)],
    )
