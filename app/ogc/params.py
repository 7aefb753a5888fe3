"""Query parameters of the items resource: each read into values, checked (a bad one is a
400 that names the parameter), and into SQL conditions and orderings over a collection's
visible properties. The SQL depends on a parameter's shape only; its values are named
bind parameters (BBOX, DATETIME_START/END, cursor_N), so that a statement serves every
request of its shape (service._statement)."""

import base64
import binascii
import json
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from sqlalchemy import ColumnElement, DateTime, and_, bindparam, false, or_

from app.core import dates, jsonbody
from app.core.errors import BadRequest, InvalidInput, validation_errors
from app.ogc import crs as crs_
from app.ogc.collections import Kind


class OgcRoute(APIRoute):
    """A route whose malformed parameters are a 400, as OGC API - Features asks
    (/req/core/query-param-invalid), where the rest of the API answers 422."""

    def get_route_handler(self) -> Callable[[Request], Awaitable[Response]]:
        handle = super().get_route_handler()

        async def checked(request: Request) -> Response:
            try:
                return await handle(request)
            except RequestValidationError as exc:
                errors = validation_errors(list(exc.errors()))
                detail = "; ".join(f"{e.field}: {e.message}" for e in errors)
                raise BadRequest(detail, errors=errors) from exc
            except InvalidInput as exc:  # the app-wide checks (a NUL in a parameter)
                raise BadRequest(exc.detail, errors=exc.errors) from exc

        return checked


def single(request: Request, allowed: frozenset[str]) -> dict[str, str]:
    """The query parameters that are not among `allowed`, each given once: a client's
    misspelt or unsupported parameter is a 400 naming it, never silently ignored
    (/req/core/query-param-unknown)."""
    extra: dict[str, str] = {}
    for name, value in request.query_params.multi_items():
        if name in allowed:
            continue
        if name in extra:
            raise BadRequest(f"{name}: give this parameter once")
        extra[name] = value
    return extra


# Kinds a property may be compared with as a plain query parameter (?status=in_service).
EQUALS_KINDS = (Kind.string, Kind.integer, Kind.number, Kind.boolean)
BOOLEAN = {"true": True, "false": False}


def equals_value(name: str, text: str, kind: Kind, choices: tuple[str, ...]) -> Any:
    """The value of ?name=text for a property of this kind."""
    try:
        if kind is Kind.integer:
            value: Any = int(text)
            if not -(2**63) <= value < 2**63:
                raise ValueError(text)
        elif kind is Kind.number:
            value = float(text)
            if not math.isfinite(value):
                raise ValueError(text)
        elif kind is Kind.boolean:
            value = BOOLEAN[text]
        else:
            value = text
    except (ValueError, KeyError) as exc:
        raise BadRequest(f"{name}: {text!r} is not a {kind.name}") from exc
    if choices and value not in choices:
        raise BadRequest(f"{name}: {text!r} is not one of {', '.join(choices)}")
    return value


def equals_clause(name: str, expr: ColumnElement, kind: Kind) -> ColumnElement[bool]:
    return expr == bindparam(f"equals_{name}", type_=kind.sql_type)


def bbox(text: str, crs: crs_.Crs) -> dict[str, float]:
    """4 numbers, or 6 with heights (ignored: the works have none), in `crs` axis order:
    the values of crs.BBOX."""
    try:
        numbers = [float(part) for part in text.split(",")]
    except ValueError as exc:
        raise BadRequest("bbox: must be 4 or 6 comma-separated numbers") from exc
    if len(numbers) not in (4, 6) or not all(math.isfinite(n) for n in numbers):
        raise BadRequest("bbox: must be 4 or 6 comma-separated finite numbers")
    half = len(numbers) // 2
    low, high = numbers[:2], numbers[half : half + 2]
    crs.check(tuple(low), field="bbox")
    crs.check(tuple(high), field="bbox")
    if low[0] > high[0] or low[1] > high[1]:
        raise BadRequest("bbox: the lower corner must come first, and not exceed the upper")
    return dict(zip(crs_.BBOX, (*low, *high), strict=True))


def _time(text: str, *, end: bool) -> datetime | None:
    """One end of a datetime interval; a date stands for its whole day (UTC), and so does
    a time without a zone."""
    if text in ("", ".."):
        return None
    try:
        day_only = "T" not in text.upper()
        if day_only:
            moment = datetime.combine(date.fromisoformat(text), datetime.min.time(), UTC)
        else:
            moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise BadRequest(f"datetime: {text!r} is not an RFC 3339 date-time or date") from exc
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    if not dates.instant_in_range(moment):
        message = dates.DAY_MESSAGE if day_only else dates.INSTANT_MESSAGE
        raise BadRequest(f"datetime: {text!r} {message}")
    return moment + timedelta(days=1) if day_only and end else moment


DATETIME_START, DATETIME_END = "datetime_start", "datetime_end"


@dataclass(frozen=True)
class Interval:
    """A `datetime` parameter: an instant is an interval from it to it."""

    start: datetime | None
    end: datetime | None
    end_included: bool

    @property
    def shape(self) -> tuple[bool, bool, bool]:
        return self.start is not None, self.end is not None, self.end_included

    def values(self) -> dict[str, datetime]:
        ends = {DATETIME_START: self.start, DATETIME_END: self.end}
        return {name: value for name, value in ends.items() if value is not None}


def interval(text: str) -> Interval:
    """An instant, or an interval start/end with '..' (or nothing) for an open end."""
    if "/" not in text:
        if text in ("", ".."):
            raise BadRequest("datetime: an instant cannot be open")
        if "T" in text.upper():
            moment = _time(text, end=False)
            return Interval(moment, moment, end_included=True)
        return Interval(_time(text, end=False), _time(text, end=True), end_included=False)
    first, _, last = text.partition("/")
    start, end = _time(first, end=False), _time(last, end=True)
    if start is not None and end is not None and start > end:
        raise BadRequest("datetime: the interval ends before it starts")
    # A date-only end is exclusive (the next midnight); a date-time end is inclusive.
    return Interval(start, end, end_included="T" in last.upper())


def datetime_clause(shape: tuple[bool, bool, bool], column: ColumnElement) -> ColumnElement[bool]:
    """The condition of an Interval of this shape on `column`."""
    has_start, has_end, end_included = shape
    parts = []
    if has_start:
        parts.append(column >= bindparam(DATETIME_START, type_=DateTime(timezone=True)))
    if has_end:
        end = bindparam(DATETIME_END, type_=DateTime(timezone=True))
        parts.append(column <= end if end_included else column < end)
    return and_(*parts) if parts else column.is_not(None)


def names(text: str | None, known: dict[str, Any], *, field: str) -> list[str]:
    if not text:
        return []
    chosen = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in chosen if name not in known]
    if unknown:
        raise BadRequest(f"{field}: unknown properties {', '.join(map(repr, unknown))}")
    return list(dict.fromkeys(chosen))


@dataclass(frozen=True)
class SortKey:
    expr: ColumnElement
    kind: Kind
    descending: bool
    # Nulls sort after every value going forward; the key column is never null.
    nullable: bool = True


def sortby(text: str | None, properties: dict[str, tuple[Kind, ColumnElement]]) -> list[SortKey]:
    keys = []
    for term in (text or "").split(","):
        term = term.strip()
        if not term:
            continue
        descending = term.startswith("-")
        name = term.lstrip("+-").strip()
        found = properties.get(name)
        if found is None or not found[0].comparable:
            raise BadRequest(f"sortby: {name!r} is not a sortable property")
        keys.append(SortKey(found[1], found[0], descending))
    return keys


def order_by(keys: list[SortKey], *, backwards: bool) -> list[ColumnElement]:
    """The page's ORDER BY: nulls last going forward; backwards, the exact reverse."""
    ordering = []
    for key in keys:
        descending = key.descending != backwards
        term = key.expr.desc() if descending else key.expr.asc()
        ordering.append(term.nulls_first() if backwards else term.nulls_last())
    return ordering


def beyond(keys: list[SortKey], nulls: tuple[bool, ...], *, backwards: bool) -> ColumnElement[bool]:
    """Rows strictly after the cursor's values (or before them, backwards) in the page
    order; `nulls` tells which values are null, the others are cursor_values' parameters.
    The keyset condition that replaces OFFSET, so that a deep page costs what the first
    does."""
    alternatives = []
    equal: list[ColumnElement[bool]] = []
    for i, (key, null) in enumerate(zip(keys, nulls, strict=True)):
        bound = bindparam(f"cursor_{i}", type_=key.kind.sql_type)
        descending = key.descending != backwards
        if null:
            # Going forward nothing follows the nulls; backwards every value does.
            step = key.expr.is_not(None) if backwards else false()
        else:
            step = key.expr < bound if descending else key.expr > bound
            if key.nullable and not backwards:
                step = or_(step, key.expr.is_(None))
        alternatives.append(and_(*equal, step))
        equal.append(key.expr.is_(None) if null else key.expr == bound)
    return or_(*alternatives)


def cursor_values(values: list[Any]) -> dict[str, Any]:
    return {f"cursor_{i}": value for i, value in enumerate(values) if value is not None}


def encode_cursor(backwards: bool, values: list[Any]) -> str:
    raw = json.dumps(["b" if backwards else "a", values], default=str, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(text: str, kinds: list[Kind]) -> tuple[bool, list[Any]]:
    """(backwards, values of the sort keys) of a cursor this API issued for this sort."""
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        direction, values = jsonbody.loads(raw, what="cursor")
        if direction not in ("a", "b") or len(values) != len(kinds):
            raise ValueError(direction)
        return direction == "b", [_value(v, kind) for v, kind in zip(values, kinds, strict=True)]
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError) as exc:
        raise BadRequest("cursor: not a cursor this API issued for this sortby") from exc


def _value(value: Any, kind: Kind) -> Any:
    if value is None:
        return None
    if kind is Kind.datetime:
        return datetime.fromisoformat(value)
    if kind is Kind.date:
        return date.fromisoformat(value)
    if not kind.accepts(value):
        raise ValueError(value)
    # every integer a cursor carries is a bigint column's (an id at least)
    if kind is Kind.integer and not -(2**63) <= value < 2**63:
        raise ValueError(value)
    return value
