from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from sqlalchemy.orm import Session

from app.accounts.dependencies import CurrentPrincipal
from app.accounts.principal import Principal
from app.alerts import service as alerts
from app.core.errors import InvalidInput, problem_responses
from app.core.geo import CoordSys, CoordSysQuery, in_china, position_to_wgs84
from app.core.pagination import splice_items
from app.db.session import hot_read
from app.nearby import service
from app.nearby.schemas import NearbyAnswer
from app.shelters import finder
from app.shelters.schemas import ShelterAnswer
from app.uses.models import UseType

router = APIRouter(tags=["nearby"])
MAX_RADIUS_M = 50_000
MAX_LIMIT = 200


@dataclass(frozen=True)
class Around:
    """The query point and its common options, read in the caller's coordinate system."""

    lon: float  # as sent, in `coordsys`
    lat: float
    wgs84: tuple[float, float]
    radius: float
    limit: int
    coordsys: CoordSys
    open_now: bool
    accessible: bool


# Async on purpose, like the routes below: a sync dependency would cost a hop to a worker
# thread of its own on a hot read path.
async def around(
    lon: Annotated[float, Query(ge=-180, le=180)],
    lat: Annotated[float, Query(ge=-90, le=90)],
    radius: Annotated[
        float, Query(gt=0, le=MAX_RADIUS_M, description="metres on the ground")
    ] = 3000,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 20,
    coordsys: CoordSysQuery = CoordSys.wgs84,
    open_now: Annotated[bool, Query(description="only places open now, in Asia/Shanghai")] = False,
    accessible: Annotated[bool, Query(description="barrier-free access")] = False,
) -> Around:
    wgs84 = position_to_wgs84(lon, lat, coordsys)
    if not in_china(*wgs84):
        raise InvalidInput.on("lon", f"[{lon}, {lat}] lies outside China")
    return Around(lon, lat, wgs84, radius, limit, coordsys, open_now, accessible)


AroundDep = Annotated[Around, Depends(around)]


def _shelters(
    session: Session,
    request: Request,
    place: Around,
    principal: Principal,
    now: datetime,
    *,
    min_free: int | None = None,
) -> list[str]:
    settings = request.app.state.settings
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


async def _search(
    request: Request,
    place: Around,
    use_type: UseType,
    principal: Principal | None = None,
    **filters: Any,
) -> Response:
    """`principal` given: the answer follows the alerts in force over the point."""
    settings = request.app.state.settings

    def run(session: Session) -> str:
        now = datetime.now(UTC)
        lead, shelters = None, None
        if principal is not None:
            covering = alerts.covering(session, lon=place.wgs84[0], lat=place.wgs84[1], now=now)
            mode = alerts.alert_mode(covering)
            lead = {"alert_mode": mode, "alerts": covering}
            if mode:
                shelters = _shelters(session, request, place, principal, now)
        # The read engine's session: autocommit, planner settings for KNN (db.session).
        return service.search(
            session,
            lon=place.lon,
            lat=place.lat,
            wgs84=place.wgs84,
            coordsys=place.coordsys,
            radius_m=place.radius,
            use_type=use_type,
            limit=place.limit,
            now=now,
            stale_after_s=settings.occupancy_stale_after_s,
            open_now=place.open_now,
            accessible=place.accessible,
            source=settings.app_source,
            lead=lead,
            shelters=shelters,
            **filters,
        )

    # One query of about a millisecond runs on the event loop; open_now may read up to
    # service.MAX_CANDIDATES in batches (all closed at night: about 30 queries), which
    # would stall the process's other requests, so it goes to a worker thread.
    answer = await hot_read(request.app.state, run, inline=not place.open_now)
    return Response(answer, media_type="application/json")


@router.get("/v1/parking/nearby", response_model=NearbyAnswer, responses=problem_responses(422))
async def parking_nearby(
    request: Request,
    principal: CurrentPrincipal,
    place: AroundDep,
    ev: Annotated[bool, Query(description="has charging piles, not all reported taken")] = False,
    min_free: Annotated[
        int | None,
        Query(ge=1, le=100_000, description="at least this many free spaces, reported fresh"),
    ] = None,
    max_height: Annotated[
        float | None,
        Query(
            ge=1, le=6, description="the vehicle's height in metres: the height limit must allow it"
        ),
    ] = None,
) -> Response:
    """Car parks in civil air defense works, nearest first, with live availability.
    `alerts` lists the alerts in force over the point. While an Actual air-raid alert is
    among them (`alert_mode`), `shelters` (as /v1/shelters/nearby answers them) comes
    before the car parks; Exercise and Test alerts are listed as drills and change
    nothing else."""
    return await _search(
        request,
        place,
        UseType.parking,
        principal,
        ev=ev,
        min_free=min_free,
        vehicle_height_m=max_height,
    )


@router.get("/v1/uses/nearby", response_model=NearbyAnswer, responses=problem_responses(422))
async def uses_nearby(
    request: Request,
    place: AroundDep,
    use_type: Annotated[UseType, Query(alias="type")],
) -> Response:
    """Peacetime uses of one type (cool spots, gyms, ...), nearest first."""
    return await _search(request, place, use_type)


@router.get(
    "/v1/shelters/nearby", response_model=ShelterAnswer, responses=problem_responses(422, 429)
)
async def shelters_nearby(
    request: Request,
    principal: CurrentPrincipal,
    place: AroundDep,
    min_free: Annotated[
        int | None,
        Query(ge=1, le=1_000_000, description="at least this many free places, reported fresh"),
    ] = None,
) -> Response:
    """Usable shelters (personnel shelters and evacuation trunks in service, public or
    opened by an alert in force), nearest first by geodesic distance to their nearest
    pedestrian entrance, with capacity, live status and walking links. `accessible`: the
    entrance is barrier-free. `open_now` does not apply to shelters. Protection classes
    only for callers who may read them."""
    if place.open_now:
        raise InvalidInput.on("open_now", "shelters have no opening hours")

    def run(session: Session) -> str:
        now = datetime.now(UTC)
        covering = alerts.covering(session, lon=place.wgs84[0], lat=place.wgs84[1], now=now)
        items = _shelters(session, request, place, principal, now, min_free=min_free)
        envelope = {
            "coordsys": place.coordsys.value,
            "center": {"lon": place.lon, "lat": place.lat},
            "radius_m": place.radius,
            "generated_at": now.isoformat(),
            "distance": finder.DISTANCE_MEANING,
            "alert_mode": alerts.alert_mode(covering),
            "alerts": covering,
        }
        return splice_items(envelope, "items", items)

    answer = await hot_read(request.app.state, run, inline=True)
    return Response(answer, media_type="application/json")
