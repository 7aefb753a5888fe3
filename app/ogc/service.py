"""Feature pages: the caller's parameters read against a collection's visible properties,
then one query."""

import functools
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Float, func
from sqlalchemy.orm import Session

from app.core.errors import BadRequest
from app.ogc import cql2, params, repository
from app.ogc import crs as crs_
from app.ogc.collections import COLLECTIONS, Collection, Kind, visible_columns

FILTER_LANGS = ("cql2-text", "cql2-json")


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


@dataclass(frozen=True)
class Page:
    features: list[str]
    next_cursor: str | None
    prev_cursor: str | None
    # Exact and free only when the first page holds every match; else unknown (None).
    number_matched: int | None


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


def items(
    session: Session,
    collection: Collection,
    query: ItemsQuery,
    *,
    restricted: bool | ColumnElement[bool],
    crs: crs_.Crs,
    sql_params: dict[str, Any],
) -> Page:
    known = queryables(collection, restricted)
    where = []
    nearest: list[params.SortKey] = []
    centre = None
    if query.bbox is not None:
        envelope = params.bbox(query.bbox, crs_.parse(query.bbox_crs, field="bbox-crs"))
        # Every geometry is a point, so the bounding-box test is the exact one.
        where.append(collection.geometry.op("&&")(envelope))
        # Unless sorted otherwise, a box's features come nearest its centre first: the
        # spatial index yields them in that order, so a page reads its own rows only. In
        # id order every page would read and sort the whole box (thousands of rows in a
        # city centre), and walking the id index instead can read most of the table.
        centre = func.ST_Centroid(envelope)
        distance = collection.geometry.op("<->", return_type=Float)(centre)
        nearest = [params.SortKey(distance, Kind.number, descending=False, nullable=False)]
    if query.datetime is not None:
        where.append(params.datetime_clause(query.datetime, known[collection.datetime][1]))
    if query.filter is not None:
        lang = query.filter_lang or "cql2-text"
        if lang not in FILTER_LANGS:
            raise BadRequest(f"filter-lang: {lang!r} is not one of {', '.join(FILTER_LANGS)}")
        translator = cql2.Translator(known, crs_.parse(query.filter_crs, field="filter-crs"))
        where.append(translator.condition(cql2.parse(query.filter, lang)))
    sorted_by = params.sortby(query.sortby, {**known, "id": (Kind.integer, collection.key)})
    keys = [
        *(sorted_by or nearest),
        params.SortKey(collection.key, Kind.integer, descending=False, nullable=False),
    ]
    cursor = params.decode_cursor(query.cursor, keys) if query.cursor else None
    rows = repository.page(
        session,
        collection,
        feature=_feature(collection, restricted, query.properties, crs),
        where=where,
        keys=keys,
        centre=None if sorted_by else centre,
        cursor=cursor,
        limit=query.limit + 1,
        params=sql_params,
    )
    if cursor is not None and cursor[0]:
        more_before, more_after = len(rows) > query.limit, True
        rows = rows[-query.limit :]
    else:
        more_before, more_after = cursor is not None, len(rows) > query.limit
        rows = rows[: query.limit]
    # The sort key values of the first and last rows, for the prev and next cursors.
    first, last = (list(rows[0][:-1]), list(rows[-1][:-1])) if rows else ([], [])
    return Page(
        features=[row[-1] for row in rows],
        next_cursor=params.encode_cursor(False, last) if more_after and rows else None,
        prev_cursor=params.encode_cursor(True, first) if more_before and rows else None,
        number_matched=len(rows) if cursor is None and not more_after else None,
    )


def item(
    session: Session,
    collection: Collection,
    feature_id: int,
    *,
    restricted: bool | ColumnElement[bool],
    crs: crs_.Crs,
    properties: str | None,
    sql_params: dict[str, Any],
) -> str | None:
    return repository.one(
        session,
        collection,
        feature_id,
        feature=_feature(collection, restricted, properties, crs),
        params=sql_params,
    )
