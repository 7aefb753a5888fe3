from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Body, Request

from app.core.errors import problem_responses
from app.core.schemas import TimeWindowDep
from app.db.session import SessionDep
from app.facilities.dependencies import LiveFacilityId, OccupancyWriter
from app.parking import service
from app.parking.schemas import OccupancyHistory, OccupancyRecord, OccupancyReport
from app.uses.schemas import Availability
from app.uses.service import availability

router = APIRouter(prefix="/v1/facilities/{facility_id}/parking", tags=["parking"])


@router.put(
    "/occupancy",
    response_model=Availability,
    responses=problem_responses(400, 401, 403, 404, 409, 410, 413, 422, 429),
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


READ_ERRORS = (401, 404, 410, 422, 429)


@router.get("/occupancy", response_model=Availability, responses=problem_responses(*READ_ERRORS))
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


@router.get(
    "/occupancy/history",
    response_model=OccupancyHistory,
    responses=problem_responses(*READ_ERRORS),
)
def occupancy_history(
    session: SessionDep,
    facility_id: LiveFacilityId,
    window: TimeWindowDep,
) -> OccupancyHistory:
    records = service.history(
        session, facility_id, since=window.since, until=window.until, limit=window.limit
    )
    return OccupancyHistory(
        facility_id=facility_id,
        since=window.since,
        until=window.until,
        items=[
            OccupancyRecord(
                realtime_free_capacity=r.free_spaces,
                realtime_free_charging_piles=r.free_charging_piles,
                realtime_opening_status=r.opening_status,
                realtime_data_updated_at=r.observed_at,
                received_at=r.received_at,
            )
            for r in records
        ],
    )
