"""Typed errors rendered as RFC 9457 problem details by one set of handlers."""

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import DataError, IntegrityError, InternalError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.core.openapi import PROBLEM_JSON, problem

log = logging.getLogger(__name__)


class FieldError(BaseModel):
    field: str
    message: str


class Problem(BaseModel):
    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    errors: list[FieldError] | None = None


class AppError(Exception):
    """Base class: each subclass knows its status and a stable problem type."""

    status: int = 400
    type: str = "about:blank"
    title: str = "Bad request"
    # The detail's wording with its values named, where a subclass words its own detail:
    # the msgid its translations are found under (app/core/i18n.py).
    template: str | None = None
    # Seconds a client should wait before asking again (Retry-After), for refusals that
    # pass with time.
    retry_after: int | None = None

    def __init__(
        self, detail: str | None = None, *, errors: list[FieldError] | None = None, **values: Any
    ) -> None:
        """`detail` as given, or the class's template worded with `values`."""
        if detail is None:
            assert self.template is not None, f"{type(self).__name__} needs a detail"
            detail = self.template.format(**values)
        super().__init__(detail)
        self.detail = detail
        self.errors = errors


class NotFound(AppError):
    status, type, title = 404, "/problems/not-found", "Not found"


class UnsupportedMedia(AppError):
    status, type, title = 415, "/problems/unsupported-media-type", "Unsupported media type"


class Conflict(AppError):
    status, type, title = 409, "/problems/conflict", "Conflict"


class InvalidInput(AppError):
    """A request that is well-formed but breaks a rule of the registry."""

    status, type, title = 422, "/problems/validation", "Invalid input"

    @classmethod
    def on(cls, field: str, message: str) -> "InvalidInput":
        return cls.of([FieldError(field=field, message=message)])

    @classmethod
    def of(cls, errors: list[FieldError]) -> "InvalidInput":
        return cls("; ".join(f"{e.field}: {e.message}" for e in errors), errors=errors)


# Said of a stored value that fails a rule it predates: a write must bring a new one.
STORED_VALUE = "the stored value: send a new one"


class BadRequest(AppError):
    status, type, title = 400, "/problems/bad-request", "Bad request"


class StatementTimeout(AppError):
    """PostgreSQL worked on one statement of the request for longer than its bound
    (statement_timeout, Settings.*statement_timeout_s) and cancelled it. 504, not the 503
    of a database away: the database is well, and a client library would repeat a 503 at
    its Retry-After, which for a question too expensive by itself is the same work again;
    so no Retry-After either. The cause may still be passing (a busy database, a lock a
    migration holds), which is why it is no 4xx: the same request may pass later."""

    status, type, title = 504, "/problems/statement-timeout", "Statement timeout"
    template = (
        "the database did not answer within this request's limit of {seconds} s; ask for"
        " less (a smaller area or page, a closer zoom, a more selective filter) or try later"
    )

    def __init__(self, *, seconds: float) -> None:
        super().__init__(seconds=f"{seconds:g}")


class BodyError(AppError, StarletteHTTPException):
    """An error found by middleware as the app reads a body: an AppError, rendered as one,
    and an HTTPException too, so that FastAPI's reading of a body parameter lets it through
    instead of calling the body unreadable."""

    def __init__(self, detail: str | None = None, **values: Any) -> None:
        AppError.__init__(self, detail, **values)
        self.status_code, self.headers = self.status, None


def violated_constraint(exc: IntegrityError) -> str | None:
    """The constraint a failed statement broke, as PostgreSQL names it."""
    return getattr(getattr(exc.orig, "diag", None), "constraint_name", None)


def problem_response(
    status: int,
    *,
    type_: str = "about:blank",
    title: str | None = None,
    detail: str | None = None,
    errors: list[FieldError] | None = None,
    instance: str | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body = Problem(
        type=type_,
        title=title or HTTPStatus(status).phrase,
        status=status,
        detail=detail,
        instance=instance,
        errors=errors,
    )
    return JSONResponse(
        body.model_dump(exclude_none=True),
        status_code=status,
        media_type=PROBLEM_JSON,
        headers=headers,
    )


def _field_path(loc: tuple[Any, ...]) -> str:
    return ".".join(str(part) for part in loc)


def validation_errors(raw: list[dict[str, Any]]) -> list[FieldError]:
    return [FieldError(field=_field_path(e["loc"]), message=e["msg"]) for e in raw]


# SQLSTATE read_only_sql_transaction: a write sent to a standby.
READ_ONLY_TRANSACTION = "25006"
# SQLSTATE query_canceled: statement_timeout (or an operator's pg_cancel_backend).
QUERY_CANCELED = "57014"


def timed_out(exc: Exception) -> bool:
    """A statement PostgreSQL cancelled at its bound: OperationalError, but no lost
    database."""
    return getattr(getattr(exc, "orig", None), "sqlstate", None) == QUERY_CANCELED


# A 503 that passes within seconds (a failover, a pool's queue, a migration): ask again.
RETRY_SHORTLY = {"Retry-After": "1"}


def database_unavailable(instance: str) -> JSONResponse:
    """A lost database (a failover under way) or an exhausted pool: try again shortly."""
    return problem_response(
        503,
        detail="the database is unavailable; try again",
        instance=instance,
        headers=RETRY_SHORTLY,
    )


def error_response(
    exc: AppError, instance: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    """An AppError's problem answer, with `headers` besides its own Retry-After."""
    if exc.retry_after is not None:
        headers = {**(headers or {}), "Retry-After": str(exc.retry_after)}
    return problem_response(
        exc.status,
        type_=exc.type,
        title=exc.title,
        detail=exc.detail,
        errors=exc.errors,
        instance=instance,
        headers=headers,
    )


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(AppError)
    async def app_error(request: Request, exc: AppError) -> JSONResponse:
        return error_response(exc, request.url.path)

    @app.exception_handler(RequestValidationError)
    async def request_validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = validation_errors(list(exc.errors()))
        return problem_response(
            422,
            type_=InvalidInput.type,
            title=InvalidInput.title,
            detail="; ".join(f"{e.field}: {e.message}" for e in errors),
            errors=errors,
            instance=request.url.path,
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return problem_response(
            exc.status_code,
            detail=str(exc.detail),
            instance=request.url.path,
            headers=getattr(exc, "headers", None),
        )

    # A safety net: services check their rules first, so these name a constraint rarely.
    @app.exception_handler(IntegrityError)
    async def integrity_error(request: Request, exc: IntegrityError) -> JSONResponse:
        constraint = violated_constraint(exc) or "a constraint"
        if getattr(exc.orig, "sqlstate", None) == "23505":
            return problem_response(
                409,
                type_=Conflict.type,
                detail=f"conflicts with an existing record ({constraint})",
                instance=request.url.path,
            )
        return problem_response(
            422, type_=InvalidInput.type, detail=f"violates {constraint}", instance=request.url.path
        )

    # A lost database, or every connection of a pool busy for its whole timeout (overload).
    # A statement cancelled at its bound is none of these: it is answered where the bound
    # was set, as StatementTimeout (db.session.bounded, hot_read).
    # The driver's own InternalError, with no SQLSTATE, is a connection broken mid-answer
    # (a COMMIT cut short by a failover); so is a write refused as read-only (25006): the
    # primary's address led to a standby, as it does while a demoted primary restarts as
    # one and before the proxy's checks see it. Any other from PostgreSQL (XX000...) is a 500.
    @app.exception_handler(OperationalError)
    @app.exception_handler(PoolTimeout)
    @app.exception_handler(InternalError)
    async def database_lost(request: Request, exc: Exception) -> JSONResponse:
        sqlstate = getattr(getattr(exc, "orig", None), "sqlstate", None)
        if isinstance(exc, InternalError) and sqlstate not in (None, READ_ONLY_TRANSACTION):
            return await unexpected(request, exc)
        log.warning("database unavailable on %s %s: %s", request.method, request.url.path, exc)
        return database_unavailable(request.url.path)

    # Also a safety net: inputs are checked before they reach the database, so a value it
    # refuses is a check missing, logged to be added. The answer gives the database's (or
    # the driver's) own words: a guess at the field would mislead.
    @app.exception_handler(DataError)
    async def data_error(request: Request, exc: DataError) -> JSONResponse:
        log.warning("value refused on %s %s: %s", request.method, request.url.path, exc.orig)
        diag = getattr(exc.orig, "diag", None)
        detail = (diag and diag.message_primary) or str(exc.orig).strip() or "invalid value"
        return problem_response(
            422, type_=InvalidInput.type, detail=detail, instance=request.url.path
        )

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem_response(500, detail="Internal error", instance=request.url.path)


# Declared on routes so that error answers appear in the OpenAPI document. A route's set
# is made of these groups and its own statuses, in any order; the gate's 401 and 429,
# which every route but the probes may answer, are declared once by core.openapi.install.
# A change that must name the version it changes (If-Match): another version than the one
# sent (412), none sent (428).
IF_MATCH_ERRORS = (412, 428)


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The problem answers of `statuses`, in ascending order, each once."""
    return {status: problem(status) for status in sorted(set(statuses))}
