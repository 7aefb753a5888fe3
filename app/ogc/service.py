"""Feature pages: the caller's parameters read against a collection's visible properties,
then one query."""

import functools
import time
from dataclasses import dataclass, field
from typing import Any

import psycopg
from sqlalchemy import ColumnElement, Float, Select, func, or_
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session
from starlette.datastructures import State

from app.core.errors import BadRequest
from app.db.session import hot_read, utf8_rows
from app.facilities.scope import EVERY_WORK, PUBLIC_WORKS
from app.ogc import cql2, params, repository
from app.ogc import crs as crs_
from app.ogc.collections import COLLECTIONS, Collection, Kind, visible_columns

FILTER_LANGS = ("cql2-text", "cql2-json")
# The parameters of the items resource besides plain property comparisons.
ITEMS_PARAMETERS = frozenset(
    ("limit", "bbox", "bbox-crs", "datetime", "crs", "filter", "filter-lang", "filter-crs")
    + ("properties", "sortby", "cursor", "f")
)
ITEM_PARAMETERS = frozenset(("crs", "properties", "f"))


@dataclass(frozen=True)
class ItemsQuery:
    bbox: str | None = None
    bbox_crs: str | None = None
    datetime: str | None = None
    filter: str | None = None
    filter_lang: str | None = None
    filter_crs: str | None = None
    properties: str | None = None
    sortby: str | None = None
    cursor: str | None = None
    limit: int = 10
    # Properties compared as plain query parameters (?status=in_service): name, text.
    equals: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Page:
    features: list[bytes]  # UTF-8 JSON
    next_cursor: str | None
    prev_cursor: str | None
    # Exact and free only when the first page holds every match; else unknown (None).
    number_matched: int | None


# The largest page read on the fast path: its rows cost time to build and send.
FAST_LIMIT = 500


def fast(
    query: ItemsQuery, restricted: bool | ColumnElement[bool], visible: ColumnElement[bool]
) -> bool:
    """Whether a page may take the fast path: its statement is one of the shared ones
    (the same for all callers of a role), sent as SQL text on the pool's own connection
    (db.session.hot_read, `raw`), and read from an index in the order it is given (ids,
    or nearest the box's centre), so that it is short whatever the data and may run on
    the event loop's thread (`inline`). A filter, a sort or a comparison of other
    properties may read far more rows, and would hold up every other request of the
    process meanwhile."""
    plain = query.filter is None and query.sortby is None and query.datetime is None
    indexed = plain and not query.equals and query.limit <= FAST_LIMIT
    return indexed and _shared(restricted, visible)


def queryables(
    collection: Collection, restricted: bool | ColumnElement[bool]
) -> dict[str, tuple[Kind, ColumnElement]]:
    """What a caller may select, filter and sort on: the visible properties and `geometry`."""
    shown = visible_columns(collection, restricted)
    found = {name: (collection.columns[name].kind, expr) for name, expr in shown.items()}
    return {**found, "geometry": (Kind.geometry, collection.geometry)}


def _feature(
    collection: Collection,
    restricted: bool | ColumnElement[bool],
    chosen: str | None,
    crs: crs_.Crs,
) -> ColumnElement:
    if isinstance(restricted, bool):
        return _shared_feature(collection.id, restricted, chosen, crs)
    return repository.feature(collection, _selected(collection, restricted, chosen), crs)


# Building the expression of 30-odd properties costs more Python than the rest of a
# request: the ones that do not depend on the caller are built once.
@functools.lru_cache(maxsize=512)
def _shared_feature(
    collection_id: str, restricted: bool, chosen: str | None, crs: crs_.Crs
) -> ColumnElement:
    collection = COLLECTIONS[collection_id]
    return repository.feature(collection, _selected(collection, restricted, chosen), crs)


def _selected(
    collection: Collection, restricted: bool | ColumnElement[bool], chosen: str | None
) -> dict[str, ColumnElement]:
    shown = visible_columns(collection, restricted)
    names = params.names(chosen, shown, field="properties")
    return {name: shown[name] for name in names} if names else shown


def access(
    collection: Collection,
    restricted: bool | ColumnElement[bool],
    visible: ColumnElement[bool],
) -> list[ColumnElement[bool]]:
    """The rows a caller may see: of the works it may see (facilities.scope.visible_clause), and
    rows for restricted readers (wartime entrances) only where it reads restricted fields."""
    where = [visible]
    if collection.restricted_rows is not None and restricted is not True:
        others = ~collection.restricted_rows
        where.append(others if restricted is False else or_(restricted, others))
    return where


def _shared(restricted: bool | ColumnElement[bool], visible: ColumnElement[bool]) -> bool:
    """Whether the caller's rules are role-wide (the same for all callers of its role), so
    that statements built with them may be built once and reused."""
    return isinstance(restricted, bool) and (visible is EVERY_WORK or visible is PUBLIC_WORKS)


def items(
    connection: Session | psycopg.Connection,
    collection: Collection,
    query: ItemsQuery,
    *,
    restricted: bool | ColumnElement[bool],
    visible: ColumnElement[bool],
    crs: crs_.Crs,
    sql_params: dict[str, Any],
) -> Page:
    known = queryables(collection, restricted)
    values: dict[str, Any] = {**sql_params, "limit": query.limit + 1}
    bbox_crs = None
    if query.bbox is not None:
        bbox_crs = crs_.parse_readable(query.bbox_crs, field="bbox-crs")
        values |= params.bbox(query.bbox, bbox_crs)
    interval = None
    if query.datetime is not None:
        interval = params.interval(query.datetime)
        values |= interval.values()
    for name, text in query.equals:
        kind = _equals_kind(collection, known, name)
        choices = collection.columns[name].enum
        values[f"equals_{name}"] = params.equals_value(name, text, kind, choices)
    sorted_by = params.sortby(query.sortby, _sortable(collection, known))
    # Unless sorted otherwise, a box's features come nearest its centre first (see
    # _statement), then by id.
    kinds = [key.kind for key in sorted_by] or ([Kind.number] if bbox_crs else [])
    cursor = params.decode_cursor(query.cursor, [*kinds, Kind.integer]) if query.cursor else None
    if cursor is not None:
        values |= params.cursor_values(cursor[1])
    shape = _Shape(
        collection_id=collection.id,
        properties=query.properties,
        crs=crs,
        bbox_crs=bbox_crs,
        interval=interval.shape if interval else None,
        sortby=query.sortby,
        cursor=(cursor[0], tuple(value is None for value in cursor[1])) if cursor else None,
        equals=tuple(sorted(name for name, _ in query.equals)),
    )
    raw = isinstance(connection, psycopg.Connection)  # fast(query, ...)
    if raw:
        sql, constants = _shared_sql(shape, restricted, visible)
        rows = utf8_rows(connection, sql, constants | values)
    else:
        if query.filter is None and _shared(restricted, visible):
            statement = _shared_statement(shape, restricted, visible)
        else:
            statement = _statement(shape, restricted, visible, _filter(query, known))
        rows = connection.execute(statement, values).all()
    if cursor is not None and cursor[0]:
        more_before, more_after = len(rows) > query.limit, True
        rows = rows[: query.limit][::-1]  # read backwards, from the cursor
    else:
        more_before, more_after = cursor is not None, len(rows) > query.limit
        rows = rows[: query.limit]
    # The sort key values of the first and last rows, for the prev and next cursors.
    first, last = (list(rows[0][:-1]), list(rows[-1][:-1])) if rows else ([], [])
    return Page(
        features=[row[-1] if raw else row[-1].encode() for row in rows],
        next_cursor=params.encode_cursor(False, last) if more_after and rows else None,
        prev_cursor=params.encode_cursor(True, first) if more_before and rows else None,
        number_matched=len(rows) if cursor is None and not more_after else None,
    )


@dataclass(frozen=True)
class _Shape:
    """What the SQL of a page depends on, besides the caller's role and filter: the values
    (bbox numbers, times, cursor values, limit) are bind parameters."""

    collection_id: str
    properties: str | None
    crs: crs_.Crs
    bbox_crs: crs_.Crs | None
    interval: tuple[bool, bool, bool] | None
    sortby: str | None
    cursor: tuple[bool, tuple[bool, ...]] | None
    equals: tuple[str, ...] = ()


def equals_properties(collection: Collection) -> dict[str, Kind]:
    """The public properties that may be compared as plain query parameters, declared
    per collection in /ogc/api (GDAL and QGIS send a simple `name = value` filter so)."""
    return {
        name: column.kind
        for name, column in collection.columns.items()
        if column.kind in params.EQUALS_KINDS and not column.restricted
    }


def _equals_kind(
    collection: Collection, known: dict[str, tuple[Kind, ColumnElement]], name: str
) -> Kind:
    found = known.get(name)
    if found is None or found[0] not in params.EQUALS_KINDS:
        raise BadRequest(
            f"{name}: unknown query parameter; items takes {', '.join(sorted(ITEMS_PARAMETERS))}"
            f" and the properties of {collection.id} listed in /ogc/api"
        )
    return found[0]


def _sortable(
    collection: Collection, known: dict[str, tuple[Kind, ColumnElement]]
) -> dict[str, tuple[Kind, ColumnElement]]:
    return {**known, "id": (Kind.integer, collection.key)}


def _filter(
    query: ItemsQuery, known: dict[str, tuple[Kind, ColumnElement]]
) -> ColumnElement | None:
    if query.filter is None:
        return None
    lang = query.filter_lang or "cql2-text"
    if lang not in FILTER_LANGS:
        raise BadRequest(f"filter-lang: {lang!r} is not one of {', '.join(FILTER_LANGS)}")
    translator = cql2.Translator(known, crs_.parse_readable(query.filter_crs, field="filter-crs"))
    return translator.condition(cql2.parse(query.filter, lang))


# Building a page's statement cost more Python than the rest of a request, and SQLAlchemy's
# cache key for it (a walk of its nodes) as much again: the statements that do not depend
# on the caller are built once per shape and reused, their cache keys with them.
@functools.lru_cache(maxsize=512)
def _shared_statement(shape: _Shape, restricted: bool, visible: ColumnElement[bool]) -> Select:
    return _statement(shape, restricted, visible, None)


# The fast path sends a shared statement's SQL itself: a Session and SQLAlchemy's
# execution cost a page more Python than its rows do.
@functools.lru_cache(maxsize=512)
def _shared_sql(
    shape: _Shape, restricted: bool, visible: ColumnElement[bool]
) -> tuple[str, dict[str, Any]]:
    """The statement's SQL for psycopg, and the values of the parameters it carries itself
    (enum members, SRIDs), converted as SQLAlchemy would convert them. The caller's values
    (box, cursor, limit) are plain numbers, which no type converts."""
    compiled = _shared_statement(shape, restricted, visible).compile(
        dialect=postgresql.psycopg.dialect()
    )
    constants = {}
    for name, value in compiled.params.items():
        if value is not None:
            convert = compiled._bind_processors.get(name)
            constants[name] = convert(value) if convert else value
    if not set(compiled._bind_processors) <= set(constants):
        raise TypeError(f"{shape}: a caller's value would need SQLAlchemy's conversion")
    return str(compiled), constants


def _statement(
    shape: _Shape,
    restricted: bool | ColumnElement[bool],
    visible: ColumnElement[bool],
    condition: ColumnElement | None,
) -> Select:
    collection = COLLECTIONS[shape.collection_id]
    known = queryables(collection, restricted)
    where = access(collection, restricted, visible)
    nearest: list[params.SortKey] = []
    centre = None
    if shape.bbox_crs is not None:
        envelope = crs_.envelope(shape.bbox_crs)
        # Every geometry is a point, so the bounding-box test is the exact one.
        where.append(collection.geometry.op("&&")(envelope))
        # Unless sorted otherwise, a box's features come nearest its centre first: the
        # spatial index yields them in that order, so a page reads its own rows only. In
        # id order every page would read and sort the whole box (thousands of rows in a
        # city centre), and walking the id index instead can read most of the table.
        centre = func.ST_Centroid(envelope)
        distance = collection.geometry.op("<->", return_type=Float)(centre)
        nearest = [params.SortKey(distance, Kind.number, descending=False, nullable=False)]
    if shape.interval is not None:
        where.append(params.datetime_clause(shape.interval, known[collection.datetime][1]))
    for name in shape.equals:
        kind, expr = known[name]
        where.append(params.equals_clause(name, expr, kind))
    if condition is not None:
        where.append(condition)
    sorted_by = params.sortby(shape.sortby, _sortable(collection, known))
    keys = [
        *(sorted_by or nearest),
        params.SortKey(collection.key, Kind.integer, descending=False, nullable=False),
    ]
    return repository.page(
        collection,
        feature=_feature(collection, restricted, shape.properties, shape.crs),
        where=where,
        keys=keys,
        centre=None if sorted_by else centre,
        cursor=shape.cursor,
    )


def item(
    session: Session,
    collection: Collection,
    feature_id: int,
    *,
    restricted: bool | ColumnElement[bool],
    visible: ColumnElement[bool],
    crs: crs_.Crs,
    properties: str | None,
    sql_params: dict[str, Any],
) -> str | None:
    return repository.one(
        session,
        collection,
        feature_id,
        feature=_feature(collection, restricted, properties, crs),
        where=access(collection, restricted, visible),
        params=sql_params,
    )


Bbox = tuple[float, float, float, float]


@dataclass
class Extents:
    """Each collection's extent, of the rows anyone may see (so that no caller learns of a
    hidden work from it), kept a while per process: computing one reads every row of the
    collection, and a work registered beyond the edge may show a minute late."""

    keep_s: float = 60.0
    found: dict[str, tuple[float, Bbox | None]] = field(default_factory=dict)

    async def get(self, state: State, ids: list[str]) -> dict[str, Bbox | None]:
        now = time.monotonic()
        stale = [i for i in ids if i not in self.found or self.found[i][0] <= now]
        if stale:
            computed = await hot_read(state, lambda session: _extents(session, stale))
            self.found |= {i: (now + self.keep_s, box) for i, box in computed.items()}
        return {i: self.found[i][1] for i in ids}


def _extents(session: Session, ids: list[str]) -> dict[str, Bbox | None]:
    return {
        i: repository.extent(session, COLLECTIONS[i], access(COLLECTIONS[i], False, PUBLIC_WORKS))
        for i in ids
    }


def extents(state: State) -> Extents:
    """The process's extents, made on first use."""
    if not hasattr(state, "ogc_extents"):
        state.ogc_extents = Extents()
    return state.ogc_extents
