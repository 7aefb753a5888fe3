"""SQL for features: one statement per page, each row a finished GeoJSON Feature as text
built by PostgreSQL, the sort keys beside it for the next and previous cursors."""

from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    Text,
    bindparam,
    cast,
    func,
    literal_column,
    select,
)
from sqlalchemy.orm import Session

from app.ogc import crs as crs_
from app.ogc.collections import Collection
from app.ogc.params import SortKey, beyond, order_by

LIMIT = bindparam("limit", type_=Integer)


def _key(name: str) -> ColumnElement:
    # Property names are the declared ones (collections.NAME), never the caller's text; as
    # SQL constants they cost no bind parameter per property and page.
    return literal_column(f"'{name}'")


def feature(
    collection: Collection, properties: dict[str, ColumnElement], crs: crs_.Crs
) -> ColumnElement:
    """The GeoJSON Feature as text."""
    pairs: list[ColumnElement] = []
    for name, expr in properties.items():
        pairs += [_key(name), expr]
    return cast(
        func.json_build_object(
            _key("type"),
            _key("Feature"),
            _key("id"),
            collection.key,
            _key("geometry"),
            crs_.from_storage(collection.geometry, crs),
            _key("properties"),
            func.json_build_object(*pairs),
        ),
        Text,
    )


def page(
    collection: Collection,
    *,
    feature: ColumnElement,
    where: list[ColumnElement[bool]],
    keys: list[SortKey],
    centre: ColumnElement | None,
    cursor: tuple[bool, tuple[bool, ...]] | None,
) -> Select:
    """Rows of (sort key values..., feature text) in page order, LIMIT the `limit`
    parameter, after the cursor's row (or before it, backwards: the rows come last first);
    `cursor` is (backwards, which of its values are null), None from the beginning. With a
    `centre`, the first key is the distance from it."""
    backwards = cursor is not None and cursor[0]
    conditions = [*collection.where, *where]
    if cursor is not None:
        conditions.append(beyond(keys, cursor[1], backwards=backwards))
    if centre is not None and not backwards:
        conditions += _within_reach(collection, conditions, keys[0].expr, centre)
    return (
        select(*(key.expr for key in keys), feature)
        .select_from(collection.source)
        .where(*conditions)
        .order_by(*order_by(keys, backwards=backwards))
        .limit(LIMIT)
    )


def _within_reach(
    collection: Collection,
    conditions: list[ColumnElement[bool]],
    distance: ColumnElement,
    centre: ColumnElement,
) -> list[ColumnElement[bool]]:
    """The spatial index gives rows nearest first, but PostgreSQL cannot break the ties
    of that order by id without reading and sorting every candidate. So: the distance
    that the `limit` nearest rows reach, found by the index, then only the rows within
    it (a box of that half-side, again by the index) sorted by (distance, id)."""
    nearest = (
        select(distance.label("distance"))
        .select_from(collection.source)
        .where(*conditions)
        .order_by(distance)
        .limit(LIMIT)
        .subquery()
    )
    reached = select(func.max(nearest.c.distance).label("distance")).cte("reach")
    reach = select(reached.c.distance).scalar_subquery()
    return [collection.geometry.op("&&")(func.ST_Expand(centre, reach)), distance <= reach]


def extent(
    session: Session, collection: Collection, where: list[ColumnElement[bool]]
) -> tuple[float, float, float, float] | None:
    """West, south, east, north of the rows `where` selects; None without rows."""
    box = (
        select(func.ST_Extent(collection.geometry).label("box"))
        .select_from(collection.extent_source)
        .where(*collection.where, *where)
        .subquery()
    )
    found = session.execute(
        select(func.ST_XMin(box.c.box), func.ST_YMin(box.c.box)).add_columns(
            func.ST_XMax(box.c.box), func.ST_YMax(box.c.box)
        )
    ).one()
    return None if found[0] is None else (found[0], found[1], found[2], found[3])


def one(
    session: Session,
    collection: Collection,
    feature_id: int,
    *,
    feature: ColumnElement,
    where: list[ColumnElement[bool]],
    params: dict[str, Any],
) -> str | None:
    return session.scalar(
        select(feature)
        .select_from(collection.source)
        .where(*collection.where, *where, collection.key == feature_id),
        params,
    )
