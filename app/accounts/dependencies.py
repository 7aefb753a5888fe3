"""Authentication and authorisation as dependencies, declared once and reused on routes.

principal: CurrentPrincipal            anyone; anonymous callers get ANONYMOUS
principal: AdminPrincipal              401 without a key, 403 unless admin
principal: RestrictedReader            admin, gis or manager (services narrow a
                                       manager to its scope)
principal: FacilityWriter              admin, or a manager whose scope holds the
                                       path's {facility_id}
principal: FacilityRestrictedReader    admin, gis, or a manager in scope of {facility_id}
principal: OccupancyWriter             admin, manager in scope, or an operator that
                                       owns {facility_id}
facility_id: VisibleFacilityId         a work this caller may see (404 otherwise)
facility_id: LiveFacilityId            the same, not deleted (410)

A work the caller may not see (Principal.visible_clause) is answered as missing, before
any 403, so that its id tells nothing.
"""

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from app.accounts.errors import Forbidden, Unauthenticated
from app.accounts.models import Role
from app.accounts.principal import ANONYMOUS, RESTRICTED_READERS, Principal
from app.db.session import SessionDep
from app.facilities import repository as facilities
from app.facilities import service as facility_service
from app.facilities.dependencies import FacilityId
from app.facilities.errors import FacilityNotFound

bearer = HTTPBearer(auto_error=False, description="an API key: `Authorization: Bearer rf_...`")


async def get_principal(
    request: Request,
    _credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    # The gate (accounts.gate) authenticated the caller from the headers, before any body
    # was read; a request that reached a route bears a valid key or none.
    return request.scope.get("state", {}).get("principal", ANONYMOUS)


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]


def require_roles(*roles: Role) -> Callable[[Principal], Principal]:
    allowed = frozenset(roles)

    def dependency(principal: CurrentPrincipal) -> Principal:
        if principal.anonymous:
            raise Unauthenticated("this needs an API key")
        if principal.role not in allowed:
            raise Forbidden(
                f"the {principal.role} role may not do this; it needs "
                + " or ".join(sorted(allowed))
            )
        return principal

    return dependency


AdminPrincipal = Annotated[Principal, Depends(require_roles(Role.admin))]
RestrictedReader = Annotated[Principal, Depends(require_roles(*RESTRICTED_READERS))]
StaffWriter = Annotated[Principal, Depends(require_roles(Role.admin, Role.manager))]


def check_facility_scope(
    session: SessionDep, principal: Principal, facility_id: int, *, verb: str
) -> None:
    codes = facilities.codes_of(session, facility_id, visible=principal.visible_clause())
    if codes is None:
        raise FacilityNotFound(facility_id)
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
    if facilities.codes_of(session, facility_id, visible=principal.visible_clause()) is None:
        raise FacilityNotFound(facility_id)
    return facility_id


def _live_facility_id(
    session: SessionDep, principal: CurrentPrincipal, facility_id: FacilityId
) -> int:
    facility_service.ensure_live(session, facility_id, principal=principal)
    return facility_id


VisibleFacilityId = Annotated[int, Depends(_visible_facility_id)]
LiveFacilityId = Annotated[int, Depends(_live_facility_id)]
