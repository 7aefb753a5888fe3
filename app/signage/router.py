from typing import Annotated

from fastapi import APIRouter, Body, Path, Query, Request, Response, status
from fastapi.responses import JSONResponse

from app.accounts.dependencies import CurrentPrincipal
from app.audit.states import AsOfQuery
from app.core.errors import IF_MATCH_ERRORS, problem_responses
from app.core.formats import CSV_ALTERNATIVE, TableFormatQuery, table, wants_csv
from app.core.geo import CoordSys, CoordSysQuery, crs_header, from_coordsys
from app.core.pagination import cursor_id, encode_cursor, keyset_page
from app.core.versioning import IfMatch, versioned
from app.db.session import SessionDep
from app.facilities.dependencies import (
    LIVE_READ_ERRORS,
    LIVE_WRITE_ERRORS,
    AdminCodeQuery,
    FacilityId,
    FacilityWriter,
    VisibleFacilityId,
)
from app.idempotency import service as idempotency
from app.idempotency.service import IdempotencyDep
from app.signage import service
from app.signage.schemas import (
    FacilitySignage,
    IncompletePage,
    SignageProgress,
    SignCreate,
    SignRead,
    SignUpdate,
)

router = APIRouter(tags=["signage"])

SignId = Annotated[int, Path(ge=1, le=2**63 - 1)]


def _sign_response(sign, coordsys: CoordSys, status_code: int = 200) -> JSONResponse:
    read = service.to_sign_read(sign, coordsys)
    return versioned(read, sign.version, status_code=status_code, headers=crs_header(coordsys))


@router.get(
    "/v1/facilities/{facility_id}/signage",
    response_model=FacilitySignage,
    responses=problem_responses(*LIVE_READ_ERRORS),
)
def facility_signage(
    session: SessionDep,
    facility_id: VisibleFacilityId,
    response: Response,
    coordsys: CoordSysQuery = CoordSys.wgs84,
) -> FacilitySignage:
    """The facility's signs, and how they measure up to its locality's rule set (public)."""
    response.headers.update(crs_header(coordsys))
    return service.get_signage(session, facility_id, coordsys)


@router.post(
    "/v1/facilities/{facility_id}/signs",
    status_code=status.HTTP_201_CREATED,
    response_model=SignRead,
    responses=problem_responses(*LIVE_WRITE_ERRORS),
)
def create_sign(
    session: SessionDep,
    request: Request,
    principal: FacilityWriter,
    idempotency_key: IdempotencyDep,
    facility_id: FacilityId,
    data: SignCreate,
    coordsys: CoordSysQuery = CoordSys.wgs84,
) -> Response:
    if (replay := idempotency.begin(session, idempotency_key, principal)) is not None:
        return replay
    data = from_coordsys(data, coordsys)
    sign = service.create_sign(session, facility_id, data, principal=principal)
    response = _sign_response(sign, coordsys, status.HTTP_201_CREATED)
    response.headers["Location"] = str(
        request.url_for("get_sign", facility_id=facility_id, sign_id=sign.id)
    )
    return idempotency.finish(session, idempotency_key, principal, response)


@router.get(
    "/v1/facilities/{facility_id}/signs/{sign_id}",
    response_model=SignRead,
    responses=problem_responses(404, 422),
)
def get_sign(
    session: SessionDep,
    facility_id: VisibleFacilityId,
    sign_id: SignId,
    coordsys: CoordSysQuery = CoordSys.wgs84,
) -> Response:
    return _sign_response(service.get_sign(session, facility_id, sign_id), coordsys)


@router.patch(
    "/v1/facilities/{facility_id}/signs/{sign_id}",
    response_model=SignRead,
    responses=problem_responses(*LIVE_WRITE_ERRORS, *IF_MATCH_ERRORS),
)
def update_sign(
    session: SessionDep,
    principal: FacilityWriter,
    facility_id: FacilityId,
    sign_id: SignId,
    patch: Annotated[SignUpdate, Body()],
    if_match: IfMatch = None,
    coordsys: CoordSysQuery = CoordSys.wgs84,
) -> Response:
    """Signs are never deleted: a sign taken down is `removed`, so history stays whole."""
    sign = service.update_sign(
        session,
        facility_id,
        sign_id,
        from_coordsys(patch, coordsys).model_dump(exclude_unset=True),
        principal=principal,
        if_match=if_match,
    )
    return _sign_response(sign, coordsys)


@router.get(
    "/v1/signage/incomplete",
    response_model=IncompletePage,
    responses=problem_responses(400, 422),
)
def incomplete_signage(
    session: SessionDep,
    principal: CurrentPrincipal,
    admin_code: AdminCodeQuery = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: Annotated[str | None, Query(max_length=100)] = None,
) -> IncompletePage:
    """Facilities missing a required sign, or carrying a damaged one, ordered by id."""
    items = service.incomplete(
        session,
        principal=principal,
        admin_code=admin_code,
        after_id=cursor_id(cursor),
        limit=limit + 1,
    )
    return IncompletePage.of(
        keyset_page(items, limit, lambda item: encode_cursor(item.facility_id))
    )


@router.get(
    "/v1/signage/progress",
    response_model=SignageProgress,
    responses={**CSV_ALTERNATIVE, **problem_responses(422)},
)
def signage_progress(
    session: SessionDep,
    request: Request,
    principal: CurrentPrincipal,
    admin_code: Annotated[
        str, Query(pattern=r"^[0-9]{6}$", description="a province gives cities, a city districts")
    ] = "340000",
    parking_only: Annotated[
        bool, Query(description="only facilities used for parking (the 2021-22 campaign)")
    ] = False,
    as_of: AsOfQuery = None,
    f: TableFormatQuery = None,
) -> Response:
    """How many facilities carry every sign their locality requires, over the total, per
    city or district, with the monthly timeline of installs and completions. Counts the
    works the caller may see; `as_of` counts them and their signs as they stood then.
    As CSV, one row per city or district."""
    progress = service.progress(
        session, principal=principal, admin_code=admin_code, parking_only=parking_only, as_of=as_of
    )
    as_csv = wants_csv(request, f)
    body = service.progress_csv(progress) if as_csv else progress.model_dump_json()
    return table(body, as_csv=as_csv, name="signage-progress")
