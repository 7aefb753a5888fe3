"""The facility domain's shared lookups, declared once and reused on routes.

facility_id: FacilityId                a valid id in the path
principal: FacilityWriter              admin, or a manager whose scope holds the
                                       path's {facility_id}
principal: FacilityRestrictedReader    admin, gis, or a manager in scope of {facility_id}
principal: OccupancyWriter             admin, manager in scope, or an operator that
                                       owns {facility_id}
facility_id: VisibleFacilityId         a work this caller may see (404 otherwise)
facility_id: LiveFacilityId            the same, not deleted (410)
live_part_router("uses", tag=...)      the routes of a part of a live work

A work the caller may not see (facilities.scope.visible_clause) is answered as missing,
before any 403, so that its id tells nothing.
"""

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from app.accounts.dependencies import CurrentPrincipal, RestrictedReader, require_roles
from app.accounts.errors import Forbidden
from app.accounts.models import Role
from app.accounts.principal import Principal
from app.core.errors import problem_responses
from app.core.geo import CHINA_BOUNDS
from app.db.session import SessionDep
from app.facilities import repository as facilities
from app.facilities import service as facility_service
from app.facilities.errors import FacilityNotFound
from app.facilities.models import ConstructionForm, FacilityStatus, Visibility, WartimeFunction
from app.facilities.repository import FacilityFilter
from app.facilities.scope import visible_clause

AdminCodeQuery = Annotated[
    str | None, Query(pattern=r"^[0-9]{6}$", description="GB/T 2260 code at any level")
]


def facility_filter(
    session: SessionDep,
    bbox: Annotated[
        str | None,
        Query(
            description="west,south,east,north in WGS 84 degrees",
            examples=[",".join(map(str, CHINA_BOUNDS))],
        ),
    ] = None,
    admin_code: AdminCodeQuery = None,
    wartime_function: WartimeFunction | None = None,
    construction_form: ConstructionForm | None = None,
    status: FacilityStatus | None = None,
    visibility: Visibility | None = None,
    min_capacity: Annotated[int | None, Query(ge=0, le=1_000_000)] = None,
    q: Annotated[
        str | None, Query(min_length=1, max_length=100, description="text in the name or address")
    ] = None,
    code: Annotated[
        str | None,
        Query(min_length=1, max_length=40, description="the registry code, exactly"),
    ] = None,
    include_deleted: bool = False,
) -> FacilityFilter:
    return facility_service.make_filter(
        session,
        bbox=bbox,
        admin_code=admin_code,
        wartime_function=wartime_function,
        construction_form=construction_form,
        status=status,
        visibility=visibility,
        min_capacity=min_capacity,
        q=q,
        code=code,
        include_deleted=include_deleted,
    )


FacilityFilterDep = Annotated[FacilityFilter, Depends(facility_filter)]
FacilityId = Annotated[int, Path(ge=1, le=2**63 - 1, description="facility id")]


def check_facility_scope(
    session: SessionDep, principal: Principal, facility_id: int, *, verb: str
) -> None:
    codes = facilities.codes_of(session, facility_id, visible=visible_clause(principal))
    if codes is None:
        raise FacilityNotFound(facility_id=facility_id)
    if principal.role in (Role.admin, Role.gis) and verb == "read":
        return
    if not principal.covers(facility_id=facility_id, codes=codes):
        raise Forbidden(f"facility {facility_id} is outside this key's scope")


def _facility_writer(
    session: SessionDep,
    principal: Annotated[Principal, Depends(require_roles(Role.admin, Role.manager))],
    facility_id: FacilityId,
) -> Principal:
    check_facility_scope(session, principal, facility_id, verb="write")
    return principal


def _facility_restricted_reader(
    session: SessionDep, principal: RestrictedReader, facility_id: FacilityId
) -> Principal:
    check_facility_scope(session, principal, facility_id, verb="read")
    return principal


def _occupancy_writer(
    session: SessionDep,
    principal: Annotated[
        Principal, Depends(require_roles(Role.admin, Role.manager, Role.operator))
    ],
    facility_id: FacilityId,
) -> Principal:
    if principal.role == Role.operator and facility_id not in principal.facility_ids:
        raise Forbidden(f"this operator does not report for facility {facility_id}")
    check_facility_scope(session, principal, facility_id, verb="write")
    return principal


FacilityWriter = Annotated[Principal, Depends(_facility_writer)]
FacilityRestrictedReader = Annotated[Principal, Depends(_facility_restricted_reader)]
OccupancyWriter = Annotated[Principal, Depends(_occupancy_writer)]


def _visible_facility_id(
    session: SessionDep, principal: CurrentPrincipal, facility_id: FacilityId
) -> int:
    if facilities.codes_of(session, facility_id, visible=visible_clause(principal)) is None:
        raise FacilityNotFound(facility_id=facility_id)
    return facility_id


def _live_facility_id(
    session: SessionDep, principal: CurrentPrincipal, facility_id: FacilityId
) -> int:
    facility_service.ensure_live(session, facility_id, principal=principal)
    return facility_id


VisibleFacilityId = Annotated[int, Depends(_visible_facility_id)]
LiveFacilityId = Annotated[int, Depends(_live_facility_id)]
# The problems of a route that reads a part of a live work (LiveFacilityId): the work
# missing (404) or deleted (410), a bad parameter (the gate's own are core.openapi's).
LIVE_READ_ERRORS = (404, 410, 422)
# The problems of a route that writes a work or a part of it, as a FacilityWriter or an
# OccupancyWriter: those of reading it, a role or scope that may not (403), and a body
# malformed or too deep (400), too large (413) or against a rule (422).
LIVE_WRITE_ERRORS = (*LIVE_READ_ERRORS, 400, 403, 413)
# The problems of a push of live figures (parking occupancy, shelter status) by an
# OccupancyWriter: those of writing, and a report older than the stored one, or unlike the
# one stored for its time (409).
PUSH_ERRORS = (*LIVE_WRITE_ERRORS, 409)


def live_part_router(part: str, *, tag: str) -> APIRouter:
    """The router of a part of a work, /v1/facilities/{facility_id}/`part`: its routes read
    the work through LiveFacilityId, so each may answer LIVE_READ_ERRORS."""
    return APIRouter(
        prefix=f"/v1/facilities/{{facility_id}}/{part}",
        tags=[tag],
        responses=problem_responses(*LIVE_READ_ERRORS),
    )
