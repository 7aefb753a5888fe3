from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Body, Request, Response
from pydantic import Field
from starlette.datastructures import State

from app.accounts.dependencies import CurrentPrincipal
from app.accounts.principal import Principal
from app.core.errors import problem_responses
from app.core.query import query_parameters, read_query
from app.core.schemas import TimeWindowDep
from app.db.session import SessionDep
from app.facilities.dependencies import (
    PUSH_ERRORS,
    LiveFacilityId,
    OccupancyWriter,
    live_part_router,
)
from app.nearby.router import AroundQuery, answer, around, fast_route, search
from app.nearby.schemas import NearbyAnswer
from app.parking import service
from app.parking.schemas import OccupancyHistory, OccupancyReport
from app.uses.models import UseType
from app.uses.schemas import Availability
from app.uses.service import availability

router = live_part_router("parking", tag="parking")
# The car park search stands with the other nearby searches in the API's documents.
nearby_router = APIRouter(tags=["nearby"])


@router.put(
    "/occupancy",
    response_model=Availability,
    responses=problem_responses(*PUSH_ERRORS),
)
def push_occupancy(
    session: SessionDep,
    request: Request,
    # Not audited: pushes arrive every minute per car park and are their own history
    # (parking_occupancy); the audit trail would drown in them.
    principal: OccupancyWriter,
    facility_id: LiveFacilityId,
    report: Annotated[OccupancyReport, Body()],
) -> Availability:
    """Gate and charger systems push what they observe. An impossible report (more free than
    exist, a future time, older than the stored one) is rejected and changes nothing; the
    same report pushed again is accepted and changes nothing."""
    settings = request.app.state.settings
    return service.push(
        session,
        facility_id,
        report,
        now=datetime.now(UTC),
        stale_after_s=settings.occupancy_stale_after_s,
        clock_skew_s=settings.occupancy_clock_skew_s,
    )


@router.get("/occupancy", response_model=Availability)
def get_occupancy(
    session: SessionDep, request: Request, facility_id: LiveFacilityId
) -> Availability:
    """The latest figures with their age; stale ones are not shown as current."""
    settings = request.app.state.settings
    return availability(
        service.car_park(session, facility_id),
        now=datetime.now(UTC),
        stale_after_s=settings.occupancy_stale_after_s,
    )


@router.get("/occupancy/history", response_model=OccupancyHistory)
def occupancy_history(
    session: SessionDep,
    facility_id: LiveFacilityId,
    window: TimeWindowDep,
) -> OccupancyHistory:
    return service.history(session, facility_id, window)


class ParkingQuery(AroundQuery):
    ev: bool = Field(False, description="has charging piles, not all reported taken")
    min_free: int | None = Field(
        None, ge=1, le=100_000, description="at least this many free spaces, reported fresh"
    )
    max_height: float | None = Field(
        None,
        ge=1,
        le=6,
        description="the vehicle's height in metres: the height limit must allow it",
    )


@nearby_router.get(
    "/v1/parking/nearby",
    response_model=NearbyAnswer,
    responses=problem_responses(422),
    openapi_extra=query_parameters(ParkingQuery),
)
async def nearby_parking(request: Request, principal: CurrentPrincipal) -> Response:
    """Car parks in civil air defense works, nearest first, with live availability.
    `alerts` lists the alerts in force over the point. While an Actual air-raid alert is
    among them (`alert_mode`), `shelters` (as /v1/shelters/nearby answers them) comes
    before the car parks; Exercise and Test alerts are listed as drills and change
    nothing else."""
    return answer(await _nearby(request.app.state, read_query(request, ParkingQuery), principal))


async def _nearby(state: State, query: ParkingQuery, principal: Principal) -> bytes:
    filters = {"ev": query.ev, "min_free": query.min_free, "vehicle_height_m": query.max_height}
    return await search(state, around(query), UseType.parking, principal, **filters)


# The busiest search, answered without the framework when it can be (core.fastpath).
FAST_ROUTES = [fast_route("/v1/parking/nearby", ParkingQuery, _nearby)]
