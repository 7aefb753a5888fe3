"""CQL2 filters (OGC API - Features Part 3): parsed by pygeofilter into its AST, then
translated here into SQLAlchemy expressions over a collection's declared properties.
Every value of the filter becomes a bound parameter."""

from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pygeofilter.parsers.cql2_text.parser as cql2_text
import shapely
import shapely.errors
import shapely.geometry
from lark import Lark, v_args
from pygeofilter import ast, values
from pygeofilter.parsers.cql2_json import parse as parse_cql2_json
from pygeofilter.parsers.cql2_json.parser import walk_cql_json
from pygeofilter.util import parse_date, parse_datetime
from sqlalchemy import (
    ColumnElement,
    DateTime,
    Text,
    and_,
    false,
    func,
    literal,
    not_,
    or_,
    true,
)

from app.core import dates, jsonbody
from app.core.errors import BadRequest
from app.core.schemas import NUL, NUL_MESSAGE
from app.ogc import crs as crs_
from app.ogc.collections import Kind

CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-json",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-cql2",
    "http://www.opengis.net/spec/cql2/1.0/conf/advanced-comparison-operators",
    "http://www.opengis.net/spec/cql2/1.0/conf/case-insensitive-comparison",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions-plus",
    "http://www.opengis.net/spec/cql2/1.0/conf/spatial-functions",
    "http://www.opengis.net/spec/cql2/1.0/conf/temporal-functions",
    "http://www.opengis.net/spec/cql2/1.0/conf/property-property",
]

# pygeofilter's CQL2 text grammar, brought to the standard where it departs from it:
# temporal functions are written T_AFTER(a, b), not infix, and T_DISJOINT is one; an
# interval's ends may be dates, or '..' for open.
_GRAMMAR = (
    (Path(cql2_text.__file__).parent / "grammar.lark").read_text()
    + """
%extend _binary_temporal_predicate_func: "T_DISJOINT"i
%extend temporal_predicate: _binary_temporal_predicate_func "(" expression "," expression ")" -> temporal_function
%override interval: "INTERVAL"i "(" SINGLE_QUOTED "," SINGLE_QUOTED ")"
"""
)


def _temporal(op: str, lhs: Any, rhs: Any) -> ast.Node | None:
    """T_DISJOINT, and T_INTERSECTS as its negation: pygeofilter lacks the first and reads
    the second as T_OVERLAPS."""
    if op.lower() == "t_disjoint":
        return ast.TimeDisjoint(lhs, rhs)
    if op.lower() == "t_intersects":
        return ast.Not(ast.TimeDisjoint(lhs, rhs))
    return None


@v_args(inline=True)
class _Transformer(cql2_text.CQLTransformer):
    def binary_temporal_predicate(self, lhs: Any, op: Any, rhs: Any) -> ast.Node:
        return _temporal(op, lhs, rhs) or super().binary_temporal_predicate(lhs, op, rhs)

    def temporal_function(self, op: Any, lhs: Any, rhs: Any) -> ast.Node:
        return self.binary_temporal_predicate(lhs, op, rhs)

    def interval(self, start: str, end: str) -> values.Interval:
        return values.Interval(_instant(start), _instant(end))


def _instant(text: str) -> date | datetime | None:
    if text == "..":
        return None
    return parse_datetime(text) if "T" in text.upper() else parse_date(text)


_text_parser = Lark(
    _GRAMMAR,
    parser="lalr",
    maybe_placeholders=False,
    transformer=_Transformer(),
    source_path=cql2_text.__file__,
    import_paths=[str(Path(cql2_text.__file__).parent.parent)],
)


def parse(text: str, lang: str) -> ast.Node:
    """The filter's AST; a 400 naming the problem when it is not valid CQL2."""
    try:
        if lang == "cql2-json":
            return parse_cql2_json(_standard_json(jsonbody.loads(text, what="filter")))
        return _text_parser.parse(text)
    # The parsers raise many kinds of errors on bad input (lark's, ValueError, KeyError,
    # TypeError ...): each one means the same thing to the client.
    except Exception as exc:
        message = f"missing member {exc}" if isinstance(exc, KeyError) else str(exc).strip()
        reason = message.splitlines()[0] if message else type(exc).__name__
        raise BadRequest(f"filter: not valid {lang}: {reason}") from exc


def _standard_json(node: Any) -> Any:
    """CQL2 JSON as pygeofilter reads it: a bbox as a polygon (it swaps the corners),
    BETWEEN's three arguments as the two it expects, the temporal functions it lacks."""
    if isinstance(node, list):
        return [_standard_json(item) for item in node]
    if not isinstance(node, dict):
        return node
    if set(node) == {"bbox"}:
        return _bbox_polygon(node["bbox"])
    op, args = node.get("op"), node.get("args")
    if isinstance(op, str) and isinstance(args, list) and len(args) == 2:
        found = _temporal(op, *(walk_cql_json(_standard_json(arg)) for arg in args))
        if found is not None:
            return found
    if op == "between" and isinstance(args, list):
        args = node["args"]
        if len(args) == 3:
            args = [args[0], args[1:]]
        return {**node, "args": _standard_json(args)}
    return {key: _standard_json(value) for key, value in node.items()}


def _bbox_polygon(bbox: Any) -> dict:
    if (
        not isinstance(bbox, list)
        or len(bbox) not in (4, 6)
        or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in bbox)
    ):
        raise ValueError("a bbox is 4 or 6 numbers")
    half = len(bbox) // 2
    x1, y1, x2, y2 = bbox[0], bbox[1], bbox[half], bbox[half + 1]
    ring = [[x1, y1], [x2, y1], [x2, y2], [x1, y2], [x1, y1]]
    return {"type": "Polygon", "coordinates": [ring]}


Operand = tuple[Kind, ColumnElement]
NUMERIC = (Kind.integer, Kind.number)
ORDERED = (Kind.string, Kind.integer, Kind.number, Kind.datetime, Kind.date)

COMPARISONS: dict[type, Callable[[Any, Any], ColumnElement[bool]]] = {
    ast.Equal: lambda a, b: a == b,
    ast.NotEqual: lambda a, b: a != b,
    ast.LessThan: lambda a, b: a < b,
    ast.LessEqual: lambda a, b: a <= b,
    ast.GreaterThan: lambda a, b: a > b,
    ast.GreaterEqual: lambda a, b: a >= b,
}
SPATIAL = {
    ast.GeometryIntersects: func.ST_Intersects,
    ast.GeometryDisjoint: func.ST_Disjoint,
    ast.GeometryContains: func.ST_Contains,
    ast.GeometryWithin: func.ST_Within,
    ast.GeometryTouches: func.ST_Touches,
    ast.GeometryCrosses: func.ST_Crosses,
    ast.GeometryOverlaps: func.ST_Overlaps,
    ast.GeometryEquals: func.ST_Equals,
}
# Allen's relations on [start, end] intervals, an instant being the interval [t, t].
TEMPORAL: dict[type, Callable[[Any, Any, Any, Any], ColumnElement[bool]]] = {
    ast.TimeAfter: lambda as_, ae, bs, be: as_ > be,
    ast.TimeBefore: lambda as_, ae, bs, be: ae < bs,
    ast.TimeBegins: lambda as_, ae, bs, be: and_(as_ == bs, ae < be),
    ast.TimeBegunBy: lambda as_, ae, bs, be: and_(as_ == bs, ae > be),
    ast.TimeContains: lambda as_, ae, bs, be: and_(as_ < bs, ae > be),
    ast.TimeDisjoint: lambda as_, ae, bs, be: or_(ae < bs, as_ > be),
    ast.TimeDuring: lambda as_, ae, bs, be: and_(as_ > bs, ae < be),
    ast.TimeEndedBy: lambda as_, ae, bs, be: and_(as_ < bs, ae == be),
    ast.TimeEnds: lambda as_, ae, bs, be: and_(as_ > bs, ae == be),
    ast.TimeEquals: lambda as_, ae, bs, be: and_(as_ == bs, ae == be),
    ast.TimeMeets: lambda as_, ae, bs, be: ae == bs,
    ast.TimeMetBy: lambda as_, ae, bs, be: as_ == be,
    ast.TimeOverlappedBy: lambda as_, ae, bs, be: and_(as_ > bs, as_ < be, ae > be),
    ast.TimeOverlaps: lambda as_, ae, bs, be: and_(as_ < bs, ae > bs, ae < be),
}


class Translator:
    """Translates a parsed filter over `properties` (name -> kind and typed expression);
    geometry literals are read in `crs`."""

    def __init__(self, properties: dict[str, Operand], crs: crs_.Crs) -> None:
        self.properties = properties
        self.crs = crs

    def condition(self, node: Any) -> ColumnElement[bool]:
        if isinstance(node, ast.And):
            return and_(self.condition(node.lhs), self.condition(node.rhs))
        if isinstance(node, ast.Or):
            return or_(self.condition(node.lhs), self.condition(node.rhs))
        if isinstance(node, ast.Not):
            return not_(self.condition(node.sub_node))
        if isinstance(node, ast.Include):
            return false() if node.not_ else true()
        if isinstance(node, bool):
            return true() if node else false()
        if isinstance(node, ast.Attribute):
            kind, expr = self.operand(node)
            if kind is not Kind.boolean:
                raise BadRequest(f"filter: {node.name} is not a boolean property")
            return expr
        translate = self._predicates.get(type(node))
        if translate is not None:
            return translate(self, node)
        raise BadRequest(f"filter: {_describe(node)} is not supported")

    def operand(self, node: Any, *, like: Kind | None = None) -> Operand:
        """A property, function or literal with its kind; a literal takes the kind of the
        operand it is compared with (`like`), if it fits."""
        if isinstance(node, ast.Attribute):
            found = self.properties.get(node.name)
            if found is None:
                raise BadRequest(
                    f"filter: unknown property {node.name!r}; see the collection's queryables"
                )
            return found
        if isinstance(node, ast.Function):
            return self._function(node)
        if isinstance(node, values.Geometry | values.Envelope):
            return Kind.geometry, self._geometry(node.__geo_interface__)
        if isinstance(node, ast.Node | values.Interval | list):
            raise BadRequest(f"filter: {_describe(node)} cannot be used here")
        kind = like if like is not None and like.accepts(node) else _literal_kind(node)
        if kind in (Kind.datetime, Kind.date):
            _in_range(node)
        if kind is Kind.string and NUL in node:
            raise BadRequest(f"filter: {node!r} {NUL_MESSAGE}")
        return kind, literal(node, kind.sql_type)

    def _geometry(self, geojson: dict) -> ColumnElement:
        """A geometry literal, checked here: PostGIS fails on a broken one with an error
        that is no answer to give a client."""
        try:
            geometry = shapely.geometry.shape(geojson)
        except (
            ValueError,
            TypeError,
            KeyError,
            AttributeError,
            shapely.errors.ShapelyError,
        ) as exc:
            raise BadRequest(f"filter: not a geometry: {exc}") from exc
        for position in shapely.get_coordinates(geometry):
            self.crs.check(tuple(position), field="filter")
        if not geometry.is_valid:
            raise BadRequest(f"filter: invalid geometry: {shapely.is_valid_reason(geometry)}")
        return crs_.to_storage(func.ST_GeomFromText(literal(geometry.wkt, Text)), self.crs)

    def _function(self, node: ast.Function) -> Operand:
        if node.name == "lower" and len(node.arguments) == 1:
            kind, expr = self.operand(node.arguments[0], like=Kind.string)
            if kind is not Kind.string:
                raise BadRequest("filter: CASEI takes a string")
            return Kind.string, func.lower(expr)
        if node.name.lower() == "bbox" and len(node.arguments) in (4, 6):
            if not all(Kind.number.accepts(value) for value in node.arguments):
                raise BadRequest("filter: BBOX takes 4 or 6 numbers")
            return self.operand(values.Geometry(_bbox_polygon(list(node.arguments))))
        raise BadRequest(f"filter: unknown function {node.name!r}")

    def _pair(self, lhs: Any, rhs: Any, allowed: tuple[Kind, ...]) -> tuple[Any, Any]:
        """Two operands of one comparable kind (integers and numbers mix)."""
        if not isinstance(lhs, ast.Node) and isinstance(rhs, ast.Node):
            right, left = self._pair(rhs, lhs, allowed)
            return left, right
        left_kind, left = self.operand(lhs)
        right_kind, right = self.operand(rhs, like=left_kind)
        if left_kind is not right_kind and not (left_kind in NUMERIC and right_kind in NUMERIC):
            raise BadRequest(
                f"filter: cannot compare {left_kind.name} with {right_kind.name} "
                f"({_describe(lhs)} and {_describe(rhs)})"
            )
        if left_kind not in allowed:
            raise BadRequest(f"filter: {_describe(lhs)} ({left_kind.name}) cannot be compared so")
        return left, right

    def _comparison(self, node: ast.Comparison) -> ColumnElement[bool]:
        allowed = (
            (*ORDERED, Kind.boolean) if isinstance(node, ast.Equal | ast.NotEqual) else ORDERED
        )
        left, right = self._pair(node.lhs, node.rhs, allowed)
        return COMPARISONS[type(node)](left, right)

    def _between(self, node: ast.Between) -> ColumnElement[bool]:
        value, low = self._pair(node.lhs, node.low, ORDERED)
        _, high = self._pair(node.lhs, node.high, ORDERED)
        clause = value.between(low, high)
        return not_(clause) if node.not_ else clause

    def _like(self, node: ast.Like) -> ColumnElement[bool]:
        # CQL2's wildcards and escape (% _ \) are PostgreSQL's.
        value, pattern = self._pair(node.lhs, node.pattern, (Kind.string,))
        clause = value.like(pattern)
        return not_(clause) if node.not_ else clause

    def _in(self, node: ast.In) -> ColumnElement[bool]:
        pairs = [self._pair(node.lhs, item, (*ORDERED, Kind.boolean)) for item in node.sub_nodes]
        if not pairs:
            raise BadRequest("filter: IN needs a list of values")
        clause = pairs[0][0].in_([right for _, right in pairs])
        return not_(clause) if node.not_ else clause

    def _is_null(self, node: ast.IsNull) -> ColumnElement[bool]:
        _, value = self.operand(node.lhs)
        return value.is_not(None) if node.not_ else value.is_(None)

    def _spatial(self, node: ast.SpatialComparisonPredicate) -> ColumnElement[bool]:
        sides = [self.operand(side) for side in (node.lhs, node.rhs)]
        if any(kind is not Kind.geometry for kind, _ in sides):
            raise BadRequest(f"filter: {node.op.value} compares geometries")
        return SPATIAL[type(node)](sides[0][1], sides[1][1])

    def _temporal(self, node: ast.TemporalPredicate) -> ColumnElement[bool]:
        a = self._interval(node.lhs)
        b = self._interval(node.rhs)
        return TEMPORAL[type(node)](*a, *b)

    def _interval(self, node: Any) -> tuple[Any, Any]:
        if isinstance(node, values.Interval):
            return _bound(node.start, "-infinity"), _bound(node.end, "infinity")
        kind, expr = self.operand(node, like=Kind.datetime)
        if kind not in (Kind.datetime, Kind.date):
            raise BadRequest(f"filter: {_describe(node)} is not a time")
        return expr, expr

    _predicates: dict[type, Callable[["Translator", Any], ColumnElement[bool]]] = {
        **dict.fromkeys(COMPARISONS, _comparison),
        ast.Between: _between,
        ast.Like: _like,
        ast.In: _in,
        ast.IsNull: _is_null,
        **dict.fromkeys(SPATIAL, _spatial),
        **dict.fromkeys(TEMPORAL, _temporal),
    }


def _bound(value: date | datetime | None, open_end: str) -> ColumnElement:
    if value is None:
        return literal(open_end, DateTime(timezone=True))
    _in_range(value)
    return literal(value, DateTime(timezone=True))


def _in_range(value: date | datetime) -> None:
    """A time in a filter lies in the range of every time the registry takes (core.dates);
    one without a zone is read as UTC."""
    if isinstance(value, datetime):
        if not dates.instant_in_range(value if value.tzinfo else value.replace(tzinfo=UTC)):
            raise BadRequest(f"filter: {value.isoformat()} {dates.INSTANT_MESSAGE}")
    elif not dates.day_in_range(value):
        raise BadRequest(f"filter: {value.isoformat()} {dates.DAY_MESSAGE}")


def _literal_kind(value: Any) -> Kind:
    for kind in (Kind.boolean, Kind.datetime, Kind.date, Kind.integer, Kind.number, Kind.string):
        if kind.accepts(value):
            return kind
    raise BadRequest(f"filter: {value!r} is not a value CQL2 knows")


def _describe(node: Any) -> str:
    if isinstance(node, ast.Attribute):
        return f"property {node.name!r}"
    if isinstance(node, ast.Node):
        return type(node).__name__
    return repr(node)
