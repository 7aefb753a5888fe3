"""Idempotency-Key for POST (draft-ietf-httpapi-idempotency-key-header).

The key row is inserted before the work, in the same transaction: a concurrent retry
blocks on the primary key until the first attempt commits (then replays its answer) or
rolls back (then does the work itself). So a retried request never creates twice."""

import hashlib
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated

from fastapi import Depends, Header, Request, Response
from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from app.accounts.principal import Principal
from app.core.errors import AppError
from app.core.middleware import client_address
from app.idempotency.models import IdempotencyRecord

# Long enough for any client's retry policy; older keys are free for reuse.
RETENTION = timedelta(hours=24)
REPLAYED_HEADERS = ("location", "etag")


class KeyReused(AppError):
    status, type, title = 422, "/problems/idempotency-key-reused", "Idempotency-Key reused"


@dataclass(frozen=True)
class IdempotencyRequest:
    key: str
    fingerprint: str
    address: str


async def idempotency_request(
    request: Request,
    key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            min_length=1,
            max_length=200,
            description="any unique string; a retry with the same key creates nothing twice",
        ),
    ] = None,
) -> IdempotencyRequest | None:
    if key is None:
        return None
    digest = hashlib.sha256(f"{request.method} {request.url.path}?{request.url.query}\n".encode())
    digest.update(await request.body())
    return IdempotencyRequest(
        key=key, fingerprint=digest.hexdigest(), address=client_address(request.scope)
    )


IdempotencyDep = Annotated[IdempotencyRequest | None, Depends(idempotency_request)]


def _owner(request: IdempotencyRequest, principal: Principal) -> str:
    return principal.actor or f"anonymous:{request.address}"


def begin(
    session: Session, request: IdempotencyRequest | None, principal: Principal
) -> Response | None:
    """None: go ahead and do the work. A Response: the stored answer to replay."""
    if request is None:
        return None
    owner = _owner(request, principal)
    session.execute(
        delete(IdempotencyRecord).where(
            IdempotencyRecord.owner == owner,
            IdempotencyRecord.key == request.key,
            IdempotencyRecord.created_at < func.now() - RETENTION,
        )
    )
    inserted = session.scalar(
        insert(IdempotencyRecord)
        .values(owner=owner, key=request.key, fingerprint=request.fingerprint)
        .on_conflict_do_nothing()
        .returning(IdempotencyRecord.key)
    )
    if inserted is not None:
        return None
    stored = session.scalar(
        select(IdempotencyRecord).where(
            IdempotencyRecord.owner == owner, IdempotencyRecord.key == request.key
        )
    )
    if stored is None or stored.status is None:  # pragma: no cover - needs a torn write
        raise KeyReused("Idempotency-Key: the first request with this key is still running")
    if stored.fingerprint != request.fingerprint:
        raise KeyReused("Idempotency-Key: this key was used for a different request; use a new key")
    response = Response(stored.body, status_code=stored.status, media_type=stored.media_type)
    for name, value in stored.headers.items():
        response.headers[name] = value
    response.headers["Idempotent-Replayed"] = "true"
    return response


def finish(
    session: Session, request: IdempotencyRequest | None, principal: Principal, response: Response
) -> Response:
    if request is None:
        return response
    record = session.get(IdempotencyRecord, (_owner(request, principal), request.key))
    assert record is not None
    record.status = response.status_code
    record.media_type = response.media_type
    record.body = bytes(response.body).decode()
    record.headers = {
        name: response.headers[name] for name in REPLAYED_HEADERS if name in response.headers
    }
    session.flush()
    return response
