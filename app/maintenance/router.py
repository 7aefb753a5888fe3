from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status
from fastapi.responses import JSONResponse

from app.accounts.dependencies import RestrictedReader
from app.core import dates
from app.core.errors import problem_responses
from app.core.formats import CSV_ALTERNATIVE, TableFormatQuery, table, wants_csv
from app.core.schemas import Day
from app.db.session import SessionDep
from app.facilities.dependencies import (
    LIVE_WRITE_ERRORS,
    FacilityId,
    FacilityRestrictedReader,
    FacilityWriter,
)
from app.idempotency import service as idempotency
from app.idempotency.service import IdempotencyDep
from app.maintenance import service
from app.maintenance.schemas import (
    FindingRead,
    ItemRead,
    OverduePage,
    OverdueSummary,
    RecordCreate,
    RecordRead,
)

router = APIRouter(tags=["maintenance"])
READ_ERRORS = (403, 404, 422)
OnQuery = Annotated[Day | None, Query(description="evaluate on this day (default today)")]


@router.get("/v1/maintenance/items", response_model=list[ItemRead])
def maintenance_items(session: SessionDep) -> list[ItemRead]:
    """The catalogue (Zhejiang 2023 provincial standard): discipline, item, interval."""
    return [ItemRead.model_validate(item) for item in service.list_items(session)]


@router.post(
    "/v1/facilities/{facility_id}/maintenance",
    status_code=status.HTTP_201_CREATED,
    response_model=RecordRead,
    responses=problem_responses(*LIVE_WRITE_ERRORS, 409),
)
def create_record(
    session: SessionDep,
    principal: FacilityWriter,
    idempotency_key: IdempotencyDep,
    facility_id: FacilityId,
    data: RecordCreate,
) -> Response:
    """Append a record. Records are never changed: to correct one, post a new record with
    `corrects_id`; the corrected record then stops counting (findings, overdue items)."""
    if (replay := idempotency.begin(session, idempotency_key, principal)) is not None:
        return replay
    record = service.create_record(session, facility_id, data, principal=principal)
    response = JSONResponse(record.model_dump(mode="json"), status_code=status.HTTP_201_CREATED)
    return idempotency.finish(session, idempotency_key, principal, response)


@router.get(
    "/v1/facilities/{facility_id}/maintenance",
    response_model=list[RecordRead],
    responses=problem_responses(*READ_ERRORS),
)
def list_records(
    session: SessionDep, principal: FacilityRestrictedReader, facility_id: FacilityId
) -> list[RecordRead]:
    """Restricted: findings describe the state of protective equipment."""
    return service.list_records(session, facility_id)


@router.get(
    "/v1/facilities/{facility_id}/findings",
    response_model=list[FindingRead],
    responses=problem_responses(*READ_ERRORS),
)
def list_findings(
    session: SessionDep,
    principal: FacilityRestrictedReader,
    facility_id: FacilityId,
    open_only: Annotated[bool, Query(alias="open")] = True,
) -> list[FindingRead]:
    """Serious findings; with open=true (default) those no repair record has closed yet."""
    return service.findings(session, facility_id, open_only=open_only)


@router.get(
    "/v1/maintenance/overdue",
    response_model=OverduePage,
    responses={**CSV_ALTERNATIVE, **problem_responses(400, 403, 422)},
)
def overdue(
    session: SessionDep,
    request: Request,
    principal: RestrictedReader,
    admin_code: Annotated[str | None, Query(pattern=r"^[0-9]{6}$")] = None,
    on: OnQuery = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    f: TableFormatQuery = None,
) -> Response:
    """Items past their interval, by facility and item, with the day they became overdue.
    An item is due `interval_months` after it was last checked (on or before `on`) and
    overdue from the day after. Managers see their scope only. As CSV, a row per item of
    the page; the next page's cursor is in the `Link` header."""
    day = on or dates.today()
    items, next_cursor = service.overdue(
        session, principal=principal, admin_code=admin_code, on=day, cursor=cursor, limit=limit
    )
    page = OverduePage(on=day, items=items, next_cursor=next_cursor)
    as_csv = wants_csv(request, f)
    response = table(
        service.overdue_csv(page) if as_csv else page.model_dump_json(),
        as_csv=as_csv,
        name="overdue",
    )
    if as_csv and next_cursor:
        following = request.url.include_query_params(cursor=next_cursor)
        response.headers["Link"] = f'<{following}>; rel="next"'
    return response


@router.get(
    "/v1/maintenance/overdue/summary",
    response_model=OverdueSummary,
    responses=problem_responses(400, 403, 422),
)
def overdue_summary(
    session: SessionDep,
    principal: RestrictedReader,
    admin_code: Annotated[
        str | None,
        Query(pattern=r"^[0-9]{6}$", description="a province gives cities, a city districts"),
    ] = None,
    on: OnQuery = None,
) -> OverdueSummary:
    """The overdue list counted per division one level below `admin_code`: works with an
    overdue item and overdue items. Managers count their scope only."""
    day = on or dates.today()
    groups = service.overdue_by_division(
        session, principal=principal, admin_code=admin_code, on=day
    )
    return OverdueSummary(on=day, admin_code=admin_code, groups=groups)
