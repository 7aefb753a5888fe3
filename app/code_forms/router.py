from typing import Annotated

from fastapi import APIRouter, Path, Response, status

from app.accounts.dependencies import AdminPrincipal
from app.code_forms import service
from app.code_forms.schemas import CodeForms, CodeFormWrite
from app.core.errors import problem_responses
from app.core.openapi import DECLARED
from app.db.session import SessionDep
from app.facilities.rules import ADMIN_CODE_PATTERN

router = APIRouter(prefix="/v1/code-forms", tags=["code forms"])

AdminCode = Annotated[
    str, Path(pattern=ADMIN_CODE_PATTERN, description="GB/T 2260 code of the division")
]


@router.get("", response_model=CodeForms, responses=problem_responses(400))
def list_forms(session: SessionDep) -> CodeForms:
    """The registry code forms: the national one, and the local ones divisions declared
    (a work may carry a code of either)."""
    return service.list_forms(session)


@router.put("/{admin_code}", responses={**DECLARED, **problem_responses(400, 403, 413, 422)})
def put_form(
    session: SessionDep,
    principal: AdminPrincipal,
    admin_code: AdminCode,
    data: CodeFormWrite,
    response: Response,
) -> CodeFormWrite:
    """Declare or replace a division's local form of registry codes."""
    if service.put_form(session, admin_code, data, actor=principal.actor):
        response.status_code = status.HTTP_201_CREATED
    return data


@router.delete(
    "/{admin_code}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(400, 403, 404, 422),
)
def delete_form(session: SessionDep, principal: AdminPrincipal, admin_code: AdminCode) -> Response:
    service.delete_form(session, admin_code, actor=principal.actor)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
