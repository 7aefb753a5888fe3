import uuid
from typing import Annotated

from fastapi import APIRouter, Body, Query, Request, Response, status
from fastapi.responses import JSONResponse

from app.accounts.dependencies import CurrentPrincipal, StaffWriter
from app.core.errors import IF_MATCH_ERRORS, problem_responses
from app.core.geo import CoordSys, CoordSysQuery, crs_header, from_coordsys, geometries_in
from app.core.versioning import IfMatch, etag
from app.db.session import SessionDep
from app.facilities.dependencies import FacilityId
from app.idempotency import service as idempotency
from app.idempotency.service import IdempotencyDep
from app.reports import service
from app.reports.models import ProblemReport, ReportStatus
from app.reports.schemas import (
    ReportCreate,
    ReportPage,
    ReportPublicRead,
    ReportRead,
    ReportStats,
    ReportUpdate,
)

router = APIRouter(tags=["reports"])


def _response(
    report: ProblemReport, *, detailed: bool, coordsys: CoordSys, status_code: int = 200
) -> JSONResponse:
    model = ReportRead if detailed else ReportPublicRead
    body = geometries_in(model.model_validate(report).model_dump(mode="json"), coordsys)
    headers = {"ETag": etag(report.version), "Vary": "Authorization", **crs_header(coordsys)}
    return JSONResponse(body, status_code=status_code, headers=headers)


@router.post(
    "/v1/facilities/{facility_id}/reports",
    status_code=status.HTTP_201_CREATED,
    response_model=ReportPublicRead,
    responses=problem_responses(400, 404, 410, 413, 422),
)
def create_report(
    session: SessionDep,
    request: Request,
    principal: CurrentPrincipal,
    idempotency_key: IdempotencyDep,
    facility_id: FacilityId,
    data: ReportCreate,
    coordsys: CoordSysQuery = CoordSys.wgs84,
) -> Response:
    """Anyone may report a problem; the answer's id is the way to follow it up. Reports
    without a key are limited per client address (a small bucket, separate from reading);
    an `app` key relaying its users' reports has a bucket of its own."""
    if (replay := idempotency.begin(session, idempotency_key, principal)) is not None:
        return replay
    data = from_coordsys(data, coordsys)
    report = service.create_report(session, facility_id, data, principal=principal)
    response = _response(
        report, detailed=False, coordsys=coordsys, status_code=status.HTTP_201_CREATED
    )
    response.headers["Location"] = str(request.url_for("get_report", report_id=report.id))
    return idempotency.finish(session, idempotency_key, principal, response)


@router.get(
    "/v1/reports",
    response_model=ReportPage,
    responses=problem_responses(400, 403, 404, 422),
)
def list_reports(
    session: SessionDep,
    principal: StaffWriter,
    admin_code: Annotated[str | None, Query(pattern=r"^[0-9]{6}$")] = None,
    report_status: Annotated[ReportStatus | None, Query(alias="status")] = None,
    facility_id: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: Annotated[str | None, Query(max_length=300)] = None,
    coordsys: CoordSysQuery = CoordSys.wgs84,
) -> ReportPage:
    """The queue of reports for the caller's scope (managers) or everywhere (admins)."""
    items, next_cursor = service.list_reports(
        session,
        principal=principal,
        admin_code=admin_code,
        status=report_status,
        facility_id=facility_id,
        cursor=cursor,
        limit=limit,
    )
    return ReportPage(
        items=[
            geometries_in(ReportRead.model_validate(r).model_dump(mode="json"), coordsys)
            for r in items
        ],
        next_cursor=next_cursor,
    )


@router.get(
    "/v1/reports/statistics",
    response_model=ReportStats,
    responses=problem_responses(422),
)
def report_statistics(
    session: SessionDep,
    principal: CurrentPrincipal,
    admin_code: Annotated[str, Query(pattern=r"^[0-9]{6}$")] = "340000",
) -> ReportStats:
    """Reports per city (for a province) or district (for a city), by status and kind,
    about the works the caller may see."""
    return service.stats(session, admin_code=admin_code, principal=principal)


@router.get(
    "/v1/reports/{report_id}",
    response_model=ReportRead | ReportPublicRead,
    responses=problem_responses(404, 422),
)
def get_report(
    session: SessionDep,
    principal: CurrentPrincipal,
    report_id: uuid.UUID,
    coordsys: CoordSysQuery = CoordSys.wgs84,
) -> Response:
    """Anyone with the id sees the status; managers in scope also see contents and contact."""
    report = service.get_report(session, report_id, principal=principal)
    detailed = service.may_see_details(session, principal, report)
    return _response(report, detailed=detailed, coordsys=coordsys)


@router.patch(
    "/v1/reports/{report_id}",
    response_model=ReportRead,
    responses=problem_responses(400, 403, 404, 409, 413, 422, *IF_MATCH_ERRORS),
)
def update_report(
    session: SessionDep,
    principal: StaffWriter,
    report_id: uuid.UUID,
    data: Annotated[ReportUpdate, Body()],
    if_match: IfMatch = None,
    coordsys: CoordSysQuery = CoordSys.wgs84,
) -> Response:
    """Acknowledge (status=acknowledged) or resolve (status=resolved, with a note)."""
    report = service.update_report(session, report_id, data, principal=principal, if_match=if_match)
    return _response(report, detailed=True, coordsys=coordsys)
