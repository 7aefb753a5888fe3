from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from app.core.errors import AppError, NotFound, error_response


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
        return error_response(exc, request.url.path, {"WWW-Authenticate": 'Bearer realm="rf"'})
