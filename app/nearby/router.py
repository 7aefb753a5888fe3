import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, TypeVar
from urllib.parse import parse_qsl

import psycopg
from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session
from starlette.datastructures import State
from starlette.types import Scope

from app.accounts.dependencies import CurrentPrincipal
from app.accounts.principal import Principal
from app.alerts import service as alerts
from app.core.compression import encoded
from app.core.errors import InvalidInput, problem_responses
from app.core.fastpath import FastRoute, Ready
from app.core.geo import CoordSys, in_china, position_to_wgs84
from app.core.middleware import ADMITTED
from app.core.pagination import splice_items
from app.core.query import query_parameters, read_query
from app.db.session import hot_read
from app.nearby import service
from app.nearby.schemas import NearbyAnswer, NearbyItem
from app.shelters import finder
from app.shelters.schemas import ShelterAnswer
from app.uses.models import UseType

router = APIRouter(tags=["nearby"])
# Live figures, and alert mode the moment an alert is posted: a cache asks again each time.
LIVE_CACHE_CONTROL = b"no-cache"
LIVE = {"Cache-Control": LIVE_CACHE_CONTROL.decode()}
MAX_RADIUS_M = 50_000
MAX_LIMIT = 200


ITEM_FIELDS = tuple(NearbyItem.model_fields)


def _fields(text: str | None) -> tuple[str, ...] | None:
    if text is None:
        return None
    chosen = tuple(dict.fromkeys(name.strip() for name in text.split(",") if name.strip()))
    unknown = [name for name in chosen if name not in NearbyItem.model_fields]
    if unknown or not chosen:
        raise InvalidInput.on(
            "fields", f"{', '.join(unknown) or 'nothing'}: choose among {', '.join(ITEM_FIELDS)}"
        )
    return chosen


class AroundQuery(BaseModel):
    """The query point and the options common to every nearby search (core.query)."""

    lon: float = Field(ge=-180, le=180)
    lat: float = Field(ge=-90, le=90)
    radius: float = Field(3000, gt=0, le=MAX_RADIUS_M, description="metres on the ground")
    limit: int = Field(20, ge=1, le=MAX_LIMIT)
    coordsys: CoordSys = Field(
        CoordSys.wgs84,
        description="system of lon/lat in the query and of every position in the answer",
    )
    open_now: bool = Field(False, description="only places open now, in Asia/Shanghai")
    accessible: bool = Field(False, description="barrier-free access")
    fields: str | None = Field(
        None,
        max_length=500,
        description="comma-separated members of each item to return, for apps that "
        "need less (`name,location,distance_m,availability`); default: all",
    )


class UsesQuery(AroundQuery):
    type: UseType


Q = TypeVar("Q", bound=AroundQuery)


class SheltersQuery(AroundQuery):
    min_free: int | None = Field(
        None, ge=1, le=1_000_000, description="at least this many free places, reported fresh"
    )


def around(query: AroundQuery) -> service.Around:
    wgs84 = position_to_wgs84(query.lon, query.lat, query.coordsys)
    if not in_china(*wgs84):
        raise InvalidInput.on("lon", f"[{query.lon}, {query.lat}] lies outside China")
    return service.Around(
        query.lon,
        query.lat,
        wgs84,
        query.radius,
        query.limit,
        query.coordsys,
        query.open_now,
        query.accessible,
        _fields(query.fields),
    )


def _shelters(
    session: Session,
    state: State,
    place: service.Around,
    principal: Principal,
    now: datetime,
    *,
    min_free: int | None = None,
) -> list[bytes]:
    settings = state.settings
    query = finder.ShelterQuery(
        lon=place.wgs84[0],
        lat=place.wgs84[1],
        radius_m=place.radius,
        limit=place.limit,
        coordsys=place.coordsys,
        now=now,
        stale_after_s=settings.shelter_status_stale_after_s,
        min_free=min_free,
        accessible=place.accessible,
    )
    return finder.find(session, query, principal=principal, source=settings.app_source)


async def search(
    state: State,
    place: service.Around,
    use_type: UseType,
    principal: Principal | None = None,
    **filters: Any,
) -> bytes:
    """The answer's body. `principal` given: the answer follows the alerts in force over
    the point."""
    settings = state.settings
    now = datetime.now(UTC)

    def run(connection: psycopg.Connection) -> service.Places:
        # A read connection: autocommit, planner settings for KNN (db.session).
        return service.search(
            connection,
            place,
            use_type=use_type,
            now=now,
            stale_after_s=settings.occupancy_stale_after_s,
            source=settings.app_source,
            **filters,
        )

    def alerted(session: Session) -> tuple[dict[str, Any], list[bytes] | None]:
        covering = alerts.covering(session, lon=place.wgs84[0], lat=place.wgs84[1], now=now)
        mode = alerts.alert_mode(covering)
        shelters = _shelters(session, state, place, principal, now) if mode else None
        return {"alert_mode": mode, "alerts": covering}, shelters

    # One query of about a millisecond runs on the event loop; open_now may read up to
    # service.MAX_CANDIDATES in batches (all closed at night: about 30 queries), which
    # would stall the process's other requests, so it goes to a worker thread.
    found = await hot_read(state, run, inline=not place.open_now, raw=True)
    lead, shelters = None, None
    if principal is not None:
        # The search tells whether any alert is in force over the point; only then are
        # they read, and the shelters in alert mode.
        lead = {"alert_mode": False, "alerts": []}
        if found.alerted:
            lead, shelters = await hot_read(state, alerted, inline=True)
    return service.answer(place, now=now, items=found.items, lead=lead, shelters=shelters)


def answer(body: bytes) -> Response:
    return Response(body, media_type="application/json", headers=LIVE)


def _parameters(query: str) -> dict[str, str]:
    """The query string as Starlette's QueryParams reads it (a name sent twice: its last
    value), split by hand when nothing in it is escaped, as an app's usually is: parse_qsl
    costs more than twice the split, which is much of a search's reading of its request."""
    if "%" in query or "+" in query:
        return dict(parse_qsl(query, keep_blank_values=True))
    return dict(pair.partition("=")[::2] for pair in query.split("&") if pair)


def fast_route(
    path: str, model: type[Q], run: Callable[[State, Q, Principal], Awaitable[bytes]]
) -> FastRoute:
    """A search answered on the fast path (core.fastpath) when it can be: `run` (the
    route's own) makes the body of the common request, whose parameters the route's
    model knows and reads without error. Anything else is left to the route, which reads
    the request again and explains what is wrong: a parameter the model does not know, a
    NUL, an error raised here; open_now too, which reads on a worker thread."""

    async def answer_fast(
        scope: Scope, match: re.Match[str], headers: dict[bytes, bytes]
    ) -> Ready | None:
        if b"%00" in scope["query_string"]:  # core.schemas.no_nul_in_parameters
            return None
        given = _parameters(scope["query_string"].decode("latin-1"))
        if not given.keys() <= model.model_fields.keys():  # ...no_unknown_query_parameters
            return None
        query = model.model_validate(given)
        if query.open_now:
            return None
        body = await run(scope["app"].state, query, scope[ADMITTED])
        # as Compression would send it; CacheHeaders keeps the route's Cache-Control
        sent = [(b"content-type", b"application/json"), (b"cache-control", LIVE_CACHE_CONTROL)]
        return Ready.of(200, sent, encoded(body, sent, headers.get(b"accept-encoding")))

    return FastRoute(path, answer_fast)


async def _uses(state: State, query: UsesQuery, _: Principal | None = None) -> bytes:
    return await search(state, around(query), query.type)


@router.get(
    "/v1/uses/nearby",
    response_model=NearbyAnswer,
    responses=problem_responses(422),
    openapi_extra=query_parameters(UsesQuery),
)
async def nearby_uses(request: Request) -> Response:
    """Peacetime uses of one type (cool spots, gyms, ...), nearest first."""
    return answer(await _uses(request.app.state, read_query(request, UsesQuery)))


@router.get(
    "/v1/shelters/nearby",
    response_model=ShelterAnswer,
    responses=problem_responses(422),
    openapi_extra=query_parameters(SheltersQuery),
)
async def nearby_shelters(request: Request, principal: CurrentPrincipal) -> Response:
    """Usable shelters (personnel shelters and evacuation trunks in service, public or
    opened by an alert in force), nearest first by geodesic distance to their nearest
    pedestrian entrance, with capacity, live status and walking links. `accessible`: the
    entrance is barrier-free. `open_now` and `fields` do not apply to shelters. Protection
    classes only for callers who may read them."""
    query = read_query(request, SheltersQuery)
    place = around(query)
    if place.open_now:
        raise InvalidInput.on("open_now", "shelters have no opening hours")
    if place.fields is not None:
        raise InvalidInput.on("fields", "shelter items are answered whole")

    def run(session: Session) -> bytes:
        now = datetime.now(UTC)
        covering = alerts.covering(session, lon=place.wgs84[0], lat=place.wgs84[1], now=now)
        state = request.app.state
        items = _shelters(session, state, place, principal, now, min_free=query.min_free)
        envelope = {
            **service.envelope(place, now),
            "distance": finder.DISTANCE_MEANING,
            "alert_mode": alerts.alert_mode(covering),
            "alerts": covering,
        }
        return splice_items(envelope, "items", items)

    answer = await hot_read(request.app.state, run, inline=True)
    return Response(answer, media_type="application/json", headers=LIVE)


FAST_ROUTES = [fast_route("/v1/uses/nearby", UsesQuery, _uses)]
