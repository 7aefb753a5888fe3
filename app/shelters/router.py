"""Live shelter status, conversion plans and readiness. The public shelter finder is a
nearby search: GET /v1/shelters/nearby lives with the others in app/nearby."""

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request
from sqlalchemy.orm import Session

from app.accounts.dependencies import CurrentPrincipal, RestrictedReader
from app.accounts.errors import Forbidden
from app.accounts.models import Role
from app.accounts.principal import Principal
from app.audit.states import AsOfQuery
from app.core import dates
from app.core.errors import problem_responses
from app.core.schemas import TimeWindowDep
from app.db.session import SessionDep
from app.divisions.service import known_level_or_none
from app.facilities.dependencies import (
    LIVE_READ_ERRORS,
    LIVE_WRITE_ERRORS,
    PUSH_ERRORS,
    AdminCodeQuery,
    FacilityRestrictedReader,
    FacilityWriter,
    LiveFacilityId,
    OccupancyWriter,
    check_facility_scope,
)
from app.shelters import readiness, status
from app.shelters.schemas import (
    ConversionPlan,
    ConversionTaskWrite,
    ReadinessAnswer,
    ShelterStatusHistory,
    ShelterStatusRead,
    ShelterStatusReport,
)

router = APIRouter(tags=["shelters"])
STATUS_PATH = "/v1/facilities/{facility_id}/shelter/status"


@router.put(
    STATUS_PATH,
    response_model=ShelterStatusRead,
    responses=problem_responses(*PUSH_ERRORS),
)
def push_status(
    session: SessionDep,
    request: Request,
    # Not audited, as parking occupancy: reports are their own history (shelter_status).
    principal: OccupancyWriter,
    facility_id: LiveFacilityId,
    report: Annotated[ShelterStatusReport, Body()],
) -> ShelterStatusRead:
    """The shelter's operator reports `open`, `closed` or `full` and the persons inside.
    Refused whole: a time in the future, older than the stored report, another report
    for the stored time, or more persons than the capacity plus the tolerance
    (RF_SHELTER_OVERFILL_TOLERANCE). The same report again changes nothing."""
    settings = request.app.state.settings
    return status.push(
        session,
        facility_id,
        report,
        now=datetime.now(UTC),
        stale_after_s=settings.shelter_status_stale_after_s,
        clock_skew_s=settings.occupancy_clock_skew_s,
        tolerance=settings.shelter_overfill_tolerance,
        actor=principal.actor,
    )


@router.get(
    STATUS_PATH, response_model=ShelterStatusRead, responses=problem_responses(*LIVE_READ_ERRORS)
)
def get_status(
    session: SessionDep, request: Request, facility_id: LiveFacilityId
) -> ShelterStatusRead:
    """The latest report with its age; a stale one (RF_SHELTER_STATUS_STALE_AFTER_S) is
    not shown as current."""
    capacity = status.shelter_capacity(session, facility_id)
    return status.to_status_read(
        status.latest(session, facility_id),
        capacity,
        now=datetime.now(UTC),
        stale_after_s=request.app.state.settings.shelter_status_stale_after_s,
    )


@router.get(
    STATUS_PATH + "/history",
    response_model=ShelterStatusHistory,
    responses=problem_responses(*LIVE_READ_ERRORS),
)
def status_history(
    session: SessionDep,
    principal: CurrentPrincipal,
    facility_id: LiveFacilityId,
    window: TimeWindowDep,
) -> ShelterStatusHistory:
    """Every report in the window; which key sent each (`reported_by`) only to an admin,
    a GIS key or a manager of the work, as the audit trail: the public sees null."""
    return status.history(
        session, facility_id, window, reporters=sees_reporters(session, principal, facility_id)
    )


def sees_reporters(session: Session, principal: Principal, facility_id: int) -> bool:
    if principal.role in (Role.admin, Role.gis):
        return True
    if principal.role != Role.manager:
        return False
    try:
        check_facility_scope(session, principal, facility_id, verb="write")
    except Forbidden:
        return False
    return True


PLAN_PATH = "/v1/facilities/{facility_id}/conversion-tasks"


@router.put(
    PLAN_PATH,
    response_model=ConversionPlan,
    responses=problem_responses(*LIVE_WRITE_ERRORS),
)
def put_plan(
    session: SessionDep,
    principal: FacilityWriter,
    facility_id: LiveFacilityId,
    tasks: Annotated[list[ConversionTaskWrite], Body(max_length=readiness.MAX_TASKS)],
) -> ConversionPlan:
    """Replaces the work's conversion plan: its steps, the hours each takes and the date
    each was last drilled."""
    return readiness.replace_plan(
        session, facility_id, tasks, today=dates.today(), actor=principal.actor
    )


@router.get(
    PLAN_PATH, response_model=ConversionPlan, responses=problem_responses(*LIVE_READ_ERRORS, 403)
)
def get_plan(
    session: SessionDep, principal: FacilityRestrictedReader, facility_id: LiveFacilityId
) -> ConversionPlan:
    return readiness.plan(session, facility_id)


@router.get("/v1/readiness", response_model=ReadinessAnswer, responses=problem_responses(403, 422))
def get_readiness(
    session: SessionDep,
    principal: RestrictedReader,
    within_hours: Annotated[float, Query(gt=0, le=8760, description="hours from the order")],
    admin_code: AdminCodeQuery = None,
    as_of: AsOfQuery = None,
) -> dict[str, Any]:
    """Per division (the level below `admin_code`; provinces without it): the shelter
    capacity convertible within `within_hours`, what is too slow (and the step that
    holds each back), what has no conversion time at all, and the works whose last drill
    is more than a year old or never happened. With `as_of`, the works and their plans
    as they stood at the end of that day."""
    level = known_level_or_none(session, admin_code)
    return readiness.readiness(
        session,
        principal=principal,
        admin_code=admin_code,
        level=level,
        within_hours=within_hours,
        today=dates.today(),
        as_of=as_of,
    )
