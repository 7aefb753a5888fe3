from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any, Self, TypeVar
from weakref import ref

from fastapi import Depends, Query, Request
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    create_model,
    field_validator,
)
from pydantic_core import PydanticCustomError

from app.core import dates
from app.core.errors import BadRequest, FieldError, InvalidInput

M = TypeVar("M", bound=BaseModel)
# PostgreSQL text cannot hold it: refused at the edge, by name, before it reaches the database.
NUL = "\x00"
NUL_MESSAGE = "contains a NUL character (\\u0000), which text cannot hold"


def _nul_at(value: Any) -> str | None:
    """Where a NUL hides in a value (a string, or strings nested in lists and objects):
    "" for the value itself, "2" or "labels.0" inside it; None when there is none.
    Nested models are left out: they check their own fields."""
    if isinstance(value, str):
        return "" if NUL in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str) and NUL in key:
                return str(key)
            if (inner := _nul_at(item)) is not None:
                return ".".join(filter(None, (str(key), inner)))
        return None
    if isinstance(value, list | tuple | set | frozenset):
        for index, item in enumerate(value):
            if (inner := _nul_at(item)) is not None:
                return ".".join(filter(None, (str(index), inner)))
    return None


class ApiModel(BaseModel):
    """Base for request bodies: unknown fields are an error, not silently dropped; no
    string anywhere in the body holds a NUL character."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        where = _nul_at(value)
        if where is not None:
            raise PydanticCustomError(
                "nul_character", f"{NUL_MESSAGE} (at {where})" if where else NUL_MESSAGE
            )
        return value


async def no_nul_in_parameters(request: Request) -> None:
    """ApiModel's rule for query and path parameters, for every route at once."""
    if b"%00" not in request.scope["query_string"] and NUL not in request.scope["path"]:
        return  # the common case, without parsing the parameters again
    for where, items in (
        ("path", request.path_params.items()),
        ("query", request.query_params.multi_items()),
    ):
        for name, value in items:
            if NUL in name or NUL in str(value):
                raise InvalidInput.on(f"{where}.{name}", NUL_MESSAGE)


def _day(value: date) -> date:
    if not dates.day_in_range(value):
        raise PydanticCustomError("date_range", dates.DAY_MESSAGE)
    return value


def _instant(value: datetime) -> datetime:
    if not dates.instant_in_range(value):
        raise PydanticCustomError("datetime_range", dates.INSTANT_MESSAGE)
    return value


# Every date and instant a request gives (see core.dates for the range and why).
Day = Annotated[date, AfterValidator(_day)]
Instant = Annotated[AwareDatetime, AfterValidator(_instant)]


@dataclass(frozen=True)
class TimeWindow:
    """The span and size of a history read (occupancy, shelter status)."""

    since: datetime
    until: datetime
    limit: int


async def time_window(
    since: Annotated[Instant | None, Query(description="default: 24 hours before until")] = None,
    until: Annotated[Instant | None, Query(description="default: now")] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> TimeWindow:
    until = until or datetime.now(UTC)
    since = since or until - timedelta(days=1)
    if since > until:
        raise InvalidInput.on("since", "must not be after until")
    return TimeWindow(since, until, limit)


TimeWindowDep = Annotated[TimeWindow, Depends(time_window)]


def from_attributes(model: type[M], obj: Any, **computed: Any) -> M:
    """`model` filled from the attributes of `obj` that bear its fields' names, and from
    `computed` for the fields `obj` does not hold."""
    values = {name: getattr(obj, name) for name in model.model_fields if name not in computed}
    return model.model_validate({**values, **computed})


class CursorPage(BaseModel):
    """A keyset page (core.pagination.keyset_page); each page names its own `items`."""

    items: list[Any]
    next_cursor: str | None

    @classmethod
    def of(cls, page: tuple[list[Any], str | None]) -> Self:
        """From keyset_page's rows and cursor; the rows are read by their attributes."""
        items, next_cursor = page
        return cls.model_validate(
            {"items": items, "next_cursor": next_cursor}, from_attributes=True
        )


class WindowHistory(BaseModel):
    """A facility's records over a TimeWindow; each history names its own `items`."""

    facility_id: int
    since: datetime
    until: datetime
    items: list[Any]

    @classmethod
    def of(cls, facility_id: int, window: TimeWindow, items: list[Any]) -> Self:
        return cls(facility_id=facility_id, since=window.since, until=window.until, items=items)


def partial_model(
    model: type[ApiModel], *, name: str, required: set[str], exclude: frozenset[str] = frozenset()
) -> type[ApiModel]:
    """The PATCH twin of a create model: every field optional, with the create model's
    constraints; `required` ones may not be null; `exclude`d ones are set at creation only
    (or by a write of their own)."""
    fields: dict[str, Any] = {
        field_name: (
            (Annotated[info.annotation, *info.metadata] if info.metadata else info.annotation)
            | None,
            None,
        )
        for field_name, info in model.model_fields.items()
        if field_name not in exclude
    }

    def not_null(cls: type, value: Any) -> Any:
        if value is None:
            raise ValueError("may not be null")
        return value

    validators = {"_not_null": field_validator(*required)(not_null)} if required else {}
    return create_model(name, __base__=ApiModel, __validators__=validators, **fields)


# Routes whose query parameters are all declared, so that any other is a mistake: a
# misspelt or unsupported parameter is refused by name instead of silently ignored.
# /ogc keeps its own rules (OGC API parameters, its own problem types).
STRICT_QUERY_PREFIXES = ("/v1/",)


async def no_unknown_query_parameters(request: Request) -> None:
    """Refuses (400) a query parameter the matched route does not declare, for every route
    under STRICT_QUERY_PREFIXES at once. The declared names come from the route's own
    dependency tree, so a parameter added to a route (or a dependency it uses) is known
    without a list to keep."""
    if not request.scope["query_string"] or not request.scope["path"].startswith(
        STRICT_QUERY_PREFIXES
    ):
        return
    known = declared_query_parameters(request.scope["route"])
    unknown = sorted({name for name in request.query_params if name not in known})
    if unknown:
        listed = ", ".join(sorted(known)) or "none"
        noun = "parameters" if len(unknown) > 1 else "parameter"
        named = ", ".join(repr(name) for name in unknown)
        raise BadRequest(
            f"unknown query {noun} {named}; this route takes: {listed}",
            errors=[
                FieldError(field=f"query.{name}", message="unknown parameter") for name in unknown
            ],
        )


# By id, as routes are not hashable; the weak reference tells a reused id from its route.
_DECLARED: dict[int, tuple[ref, frozenset[str]]] = {}


def declared_query_parameters(route: Any) -> frozenset[str]:
    """The query parameter names (aliases) of a route and of every dependency it uses."""
    cached = _DECLARED.get(id(route))
    if cached is not None and cached[0]() is route:
        return cached[1]
    names: set[str] = set()
    pending = [route.dependant]
    while pending:
        dependant = pending.pop()
        names.update(field.alias for field in dependant.query_params)
        pending.extend(dependant.dependencies)
    # Routes that read their query as one model (core.query) declare it in openapi_extra.
    extra = getattr(route, "openapi_extra", None) or {}
    names.update(p["name"] for p in extra.get("parameters", []) if p.get("in") == "query")
    _DECLARED[id(route)] = (ref(route), frozenset(names))
    return frozenset(names)
