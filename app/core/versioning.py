"""Optimistic concurrency: every versioned record answers GET with an ETag, and a
PATCH or PUT must send it back in If-Match, so two editors cannot overwrite each other."""

from typing import Annotated

from fastapi import Header
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from app.core.errors import AppError


class PreconditionFailed(AppError):
    status, type, title = 412, "/problems/precondition-failed", "Precondition failed"


class PreconditionRequired(AppError):
    status, type, title = 428, "/problems/precondition-required", "Precondition required"


IfMatch = Annotated[
    str | None,
    Header(
        alias="If-Match",
        max_length=1000,
        description='the ETag of the version being changed, e.g. "3"; `*` matches any',
    ),
]


def etag(version: int) -> str:
    return f'"{version}"'


def versioned(
    record: BaseModel,
    version: int,
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """A versioned record's answer, with the ETag an editor sends back in If-Match."""
    return JSONResponse(
        record.model_dump(mode="json"),
        status_code=status_code,
        headers={"ETag": etag(version), **(headers or {})},
    )


def check_if_match(if_match: str | None, version: int, *, required: bool) -> None:
    """RFC 9110 §13.1.1: strong comparison, so a weak W/ tag never matches."""
    if if_match is None or not if_match.strip():
        if required:
            raise PreconditionRequired(
                "If-Match: send the ETag of the version you read, so no update is lost"
            )
        return
    tags = [tag.strip() for tag in if_match.split(",")]
    if "*" in tags or etag(version) in tags:
        return
    raise PreconditionFailed(
        f"If-Match: the record changed meanwhile; it is now at version {version} "
        f"(ETag {etag(version)}); read it again and reapply your change"
    )
