from typing import Annotated

from fastapi import APIRouter, Path, Request, Response, status

from app.accounts import service
from app.accounts.dependencies import AdminPrincipal, CurrentPrincipal, role_router
from app.accounts.errors import Unauthenticated
from app.accounts.schemas import ApiKeyCreate, ApiKeyCreated, ApiKeyRead, WhoAmI
from app.core.errors import problem_responses
from app.db.session import SessionDep

router = role_router("/v1/admin/keys", tag="accounts")
me_router = APIRouter(prefix="/v1/me", tags=["accounts"])

KeyId = Annotated[int, Path(ge=1, le=2**63 - 1, description="API key id")]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=ApiKeyCreated,
    responses=problem_responses(400, 413),
)
def create_key(
    session: SessionDep,
    request: Request,
    response: Response,
    principal: AdminPrincipal,
    data: ApiKeyCreate,
) -> ApiKeyCreated:
    created = service.create_key(session, data, actor=principal.actor)
    response.headers["Location"] = str(request.url_for("get_key", key_id=created.key.id))
    read = ApiKeyRead.model_validate(created.key)
    return ApiKeyCreated(**read.model_dump(), key=created.secret)


@router.get("", response_model=list[ApiKeyRead])
def list_keys(
    session: SessionDep, principal: AdminPrincipal, include_revoked: bool = False
) -> list[ApiKeyRead]:
    keys = service.list_keys(session, include_revoked=include_revoked)
    return [ApiKeyRead.model_validate(key) for key in keys]


@router.get("/{key_id}", response_model=ApiKeyRead, responses=problem_responses(404))
def get_key(session: SessionDep, principal: AdminPrincipal, key_id: KeyId) -> ApiKeyRead:
    return ApiKeyRead.model_validate(service.get_key(session, key_id))


@router.delete(
    "/{key_id}",
    response_model=ApiKeyRead,
    responses=problem_responses(404, 409),
)
def revoke_key(
    request: Request, session: SessionDep, principal: AdminPrincipal, key_id: KeyId
) -> ApiKeyRead:
    """Revoke a key: it stops working at once on the worker that answers, and within
    RF_KEY_CACHE_S on the others; the record stays for the audit trail."""
    key = service.revoke_key(
        session, key_id, actor=principal.actor, current_key_id=principal.key_id
    )
    # Committed first: a read of the key between the two would find it unrevoked, and
    # the worker would keep it for RF_KEY_CACHE_S.
    session.commit()
    request.app.state.keys.forget_all()
    return ApiKeyRead.model_validate(key)


@me_router.get("", response_model=WhoAmI)
def who_am_i(principal: CurrentPrincipal) -> WhoAmI:
    """The calling key's name, role and scope, so that a client can say what it may do."""
    if principal.anonymous:
        raise Unauthenticated("send an API key to learn its role and scope")
    return WhoAmI.model_validate(principal, from_attributes=True)
