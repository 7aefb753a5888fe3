"""A facility's audit trail, read through the facility: the scope check is the domain's."""

from typing import Annotated

from fastapi import APIRouter, Query

from app.audit import service
from app.audit.schemas import AuditEventRead, HistoryPage
from app.core.errors import problem_responses
from app.core.geo import CoordSys, CoordSysQuery, geometries_in
from app.core.pagination import cursor_id, id_cursor, keyset_page
from app.db.session import SessionDep
from app.facilities.dependencies import FacilityId, FacilityRestrictedReader

router = APIRouter(prefix="/v1/facilities", tags=["audit"])


@router.get(
    "/{facility_id}/history",
    response_model=HistoryPage,
    responses=problem_responses(400, 403, 404, 422),
)
def facility_history(
    session: SessionDep,
    principal: FacilityRestrictedReader,
    facility_id: FacilityId,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: Annotated[str | None, Query(max_length=100)] = None,
    coordsys: CoordSysQuery = CoordSys.wgs84,
) -> HistoryPage:
    """Every audited write to the facility and what hangs off it (signs, maintenance,
    reports, uses), newest first. Old and new values include restricted fields, so only
    roles that read those see the history."""
    events = service.history(session, facility_id, before_id=cursor_id(cursor), limit=limit + 1)
    page, next_cursor = keyset_page(events, limit, id_cursor)
    return HistoryPage(
        items=[
            AuditEventRead.model_validate(e).model_copy(
                update={"changes": geometries_in(e.changes, coordsys)}
            )
            for e in page
        ],
        next_cursor=next_cursor,
    )
