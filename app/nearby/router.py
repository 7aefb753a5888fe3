from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from sqlalchemy.orm import Session

from app.core.errors import InvalidInput, problem_responses
from app.core.geo import CoordSys, in_china, position_to_wgs84
from app.db.session import hot_read
from app.nearby import service
from app.nearby.schemas import NearbyAnswer
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
    coordsys: Annotated[
        CoordSys,
        Query(description="system of lon/lat in the query and of every position in the answer"),
    ] = CoordSys.wgs84,
    open_now: Annotated[bool, Query(description="only places open now, in Asia/Shanghai")] = False,
    accessible: Annotated[bool, Query(description="barrier-free access")] = False,
) -> Around:
    wgs84 = position_to_wgs84(lon, lat, coordsys)
    if not in_china(*wgs84):
        raise InvalidInput.on("lon", f"[{lon}, {lat}] lies outside China")
    return Around(lon, lat, wgs84, radius, limit, coordsys, open_now, accessible)


AroundDep = Annotated[Around, Depends(around)]


async def _search(request: Request, place: Around, use_type: UseType, **filters: Any) -> Response:
    settings = request.app.state.settings

    def run(session: Session) -> str:
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
            now=datetime.now(UTC),
            stale_after_s=settings.occupancy_stale_after_s,
            open_now=place.open_now,
            accessible=place.accessible,
            source=settings.app_source,
            **filters,
        )

    # One query of about a millisecond runs on the event loop; open_now may read up to
    # service.MAX_CANDIDATES in batches (all closed at night: about 30 queries), which
    # would stall the process's other requests, so it goes to a worker thread.
    answer = await hot_read(request.app.state, run, inline=not place.open_now)
    return Response(answer, media_type="application/json")


@router.get("/v1/parking/nearby", response_model=NearbyAnswer, responses=problem_responses(422))
async def nearby_parking(
    request: Request,
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
    """Car parks in civil air defense works, nearest first, with live availability."""
    return await _search(
        request, place, UseType.parking, ev=ev, min_free=min_free, vehicle_height_m=max_height
    )


@router.get("/v1/uses/nearby", response_model=NearbyAnswer, responses=problem_responses(422))
async def nearby_uses(
    request: Request,
    place: AroundDep,
    use_type: Annotated[UseType, Query(alias="type")],
) -> Response:
    """Peacetime uses of one type (cool spots, gyms, ...), nearest first."""
    return await _search(request, place, use_type)
