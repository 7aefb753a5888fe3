"""Authentication and authorisation as dependencies, declared once and reused on routes.

principal: CurrentPrincipal            anyone; anonymous callers get ANONYMOUS
principal: AdminPrincipal              401 without a key, 403 unless admin
principal: RestrictedReader            admin, gis or manager (services narrow a
                                       manager to its scope)
principal: StaffWriter                 admin or manager

The dependencies that check a caller against a facility (FacilityWriter ...) are the
facility domain's: app.facilities.dependencies.
"""

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from app.accounts.errors import Forbidden, Unauthenticated
from app.accounts.models import Role
from app.accounts.principal import ANONYMOUS, RESTRICTED_READERS, Principal

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
                f"the {principal.role} role may not do this; it needs {' or '.join(sorted(allowed))}"
            )
        return principal

    return dependency


AdminPrincipal = Annotated[Principal, Depends(require_roles(Role.admin))]
RestrictedReader = Annotated[Principal, Depends(require_roles(*RESTRICTED_READERS))]
StaffWriter = Annotated[Principal, Depends(require_roles(Role.admin, Role.manager))]
