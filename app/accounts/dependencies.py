"""Authentication and authorisation as dependencies, declared once and reused on routes.

principal: CurrentPrincipal            anyone; anonymous callers get ANONYMOUS
principal: AdminPrincipal              401 without a key, 403 unless admin
principal: RestrictedReader            admin, gis or manager (services narrow a
                                       manager to its scope)
principal: StaffWriter                 admin or manager
role_router("/v1/webhooks", tag=...)   a router whose every route takes one of these

The dependencies that check a caller against a facility (FacilityWriter ...) are the
facility domain's: app.facilities.dependencies.
"""

from collections.abc import Awaitable, Callable, Iterable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from app.accounts.errors import Forbidden, Unauthenticated
from app.accounts.models import Role
from app.accounts.principal import ANONYMOUS, RESTRICTED_READERS, Principal
from app.core.errors import problem_responses

bearer = HTTPBearer(auto_error=False, description="an API key: `Authorization: Bearer rf_...`")


async def get_principal(
    request: Request,
    _credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    # The gate (accounts.gate) authenticated the caller from the headers, before any body
    # was read; a request that reached a route bears a valid key or none.
    return request.scope.get("state", {}).get("principal", ANONYMOUS)


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]


def ensure_role(principal: Principal, roles: Iterable[Role]) -> Principal:
    """The principal, if it has one of `roles`; else 401 (no key) or 403."""
    allowed = frozenset(roles)
    if principal.anonymous:
        raise Unauthenticated("this needs an API key")
    if principal.role not in allowed:
        raise Forbidden(
            f"the {principal.role} role may not do this; it needs {' or '.join(sorted(allowed))}"
        )
    return principal


def require_roles(*roles: Role) -> Callable[[Principal], Awaitable[Principal]]:
    # async: FastAPI runs a plain function dependency in a worker thread, a hop that costs
    # more than the check
    async def dependency(principal: CurrentPrincipal) -> Principal:
        return ensure_role(principal, roles)

    return dependency


AdminPrincipal = Annotated[Principal, Depends(require_roles(Role.admin))]
RestrictedReader = Annotated[Principal, Depends(require_roles(*RESTRICTED_READERS))]
StaffWriter = Annotated[Principal, Depends(require_roles(Role.admin, Role.manager))]


def role_router(prefix: str, *, tag: str, **options: Any) -> APIRouter:
    """A router whose every route takes a principal of some roles only (AdminPrincipal,
    StaffWriter ...): each may answer 403 for a role that may not, and 422 for a bad
    parameter; their 401 for a caller without a key is declared with the gate's
    (core.openapi)."""
    return APIRouter(prefix=prefix, tags=[tag], responses=problem_responses(403, 422), **options)
