from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from app.core.errors import AppError, NotFound, problem_response


class Unauthenticated(AppError):
    status, type, title = 401, "/problems/unauthenticated", "Authentication required"


class Forbidden(AppError):
    status, type, title = 403, "/problems/forbidden", "Forbidden"


class KeyNotFound(NotFound):
    template = "API key {key_id} does not exist"


def install_auth_error_handlers(app: FastAPI) -> None:
    """Like the AppError handler, plus the header a 401 needs (RFC 6750)."""

    @app.exception_handler(Unauthenticated)
    async def unauthenticated(request: Request, exc: Unauthenticated) -> JSONResponse:
        return _render(request, exc, {"WWW-Authenticate": 'Bearer realm="rf"'})


def _render(request: Request, exc: AppError, headers: dict[str, str]) -> JSONResponse:
    return problem_response(
        exc.status,
        type_=exc.type,
        title=exc.title,
        detail=exc.detail,
        instance=request.url.path,
        headers=headers,
    )
