from datetime import UTC, datetime
from typing import Annotated

from fastapi import Body, Path, Request, Response, status
from sqlalchemy.orm import Session

from app.core.dates import SHANGHAI
from app.core.errors import IF_MATCH_ERRORS, problem_responses
from app.core.versioning import IfMatch, etag, versioned
from app.db.session import SessionDep
from app.facilities.dependencies import (
    LIVE_WRITE_ERRORS,
    FacilityWriter,
    LiveFacilityId,
    live_part_router,
)
from app.holidays import service as holidays
from app.idempotency import service as idempotency
from app.idempotency.service import IdempotencyDep
from app.uses import service
from app.uses.models import PeacetimeUse
from app.uses.schemas import UseCreate, UseRead, UseUpdate

router = live_part_router("uses", tag="peacetime uses")
UseId = Annotated[int, Path(ge=1, le=2**63 - 1)]


def _to_use_read(session: Session, request: Request, use: PeacetimeUse) -> UseRead:
    stale_after = request.app.state.settings.occupancy_stale_after_s
    now = datetime.now(UTC)
    day = holidays.day_kind(session, now.astimezone(SHANGHAI).date())
    return service.to_use_read(use, now=now, stale_after_s=stale_after, day=day)


@router.get("", response_model=list[UseRead])
def list_uses(session: SessionDep, request: Request, facility_id: LiveFacilityId) -> list[UseRead]:
    return [_to_use_read(session, request, use) for use in service.list_uses(session, facility_id)]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=UseRead,
    responses=problem_responses(*LIVE_WRITE_ERRORS, 409),
)
def create_use(
    session: SessionDep,
    request: Request,
    principal: FacilityWriter,
    idempotency_key: IdempotencyDep,
    facility_id: LiveFacilityId,
    data: Annotated[UseCreate, Body()],
) -> Response:
    if (replay := idempotency.begin(session, idempotency_key, principal)) is not None:
        return replay
    use = service.create_use(session, facility_id, data, actor=principal.actor)
    location = request.url_for("get_use", facility_id=facility_id, use_id=use.id)
    response = versioned(
        _to_use_read(session, request, use),
        use.version,
        status_code=status.HTTP_201_CREATED,
        headers={"Location": str(location)},
    )
    return idempotency.finish(session, idempotency_key, principal, response)


@router.get("/{use_id}", response_model=UseRead)
def get_use(
    session: SessionDep,
    request: Request,
    response: Response,
    facility_id: LiveFacilityId,
    use_id: UseId,
) -> UseRead:
    use = service.get_use(session, facility_id, use_id)
    response.headers["ETag"] = etag(use.version)
    return _to_use_read(session, request, use)


@router.patch(
    "/{use_id}",
    response_model=UseRead,
    responses=problem_responses(*LIVE_WRITE_ERRORS, *IF_MATCH_ERRORS),
)
def update_use(
    session: SessionDep,
    request: Request,
    response: Response,
    principal: FacilityWriter,
    facility_id: LiveFacilityId,
    use_id: UseId,
    patch: Annotated[UseUpdate, Body()],
    if_match: IfMatch = None,
) -> UseRead:
    changes = patch.model_dump(mode="json", exclude_unset=True)
    use = service.update_use(
        session, facility_id, use_id, changes, actor=principal.actor, if_match=if_match
    )
    response.headers["ETag"] = etag(use.version)
    return _to_use_read(session, request, use)


@router.delete(
    "/{use_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(403, 412),
)
def delete_use(
    session: SessionDep,
    principal: FacilityWriter,
    facility_id: LiveFacilityId,
    use_id: UseId,
    if_match: IfMatch = None,
) -> Response:
    service.delete_use(session, facility_id, use_id, actor=principal.actor, if_match=if_match)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
