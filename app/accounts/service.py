"""API keys: one service for the admin endpoints and the `rf keys` commands."""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from app.accounts import repository
from app.accounts.errors import KeyNotFound
from app.accounts.models import ApiKey, Role
from app.accounts.principal import Principal
from app.accounts.schemas import ApiKeyCreate
from app.audit import service as audit
from app.core.errors import Conflict, InvalidInput
from app.divisions import repository as divisions

KEY_PREFIX = "rf_"


def hash_key(key: str) -> str:
    # A plain SHA-256, not bcrypt/argon2: the key is 256 random bits, so there is no
    # dictionary to slow down, and a fast deterministic hash lets one unique-index lookup
    # authenticate each request. A database leak still yields no usable key.
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True)
class CreatedKey:
    key: ApiKey
    secret: str


def create_key(session: Session, data: ApiKeyCreate, *, actor: str | None) -> CreatedKey:
    if data.role == Role.manager and not (data.admin_codes or data.facility_ids):
        raise InvalidInput.on("admin_codes", "a manager needs admin codes or facility ids")
    if data.role == Role.operator and not data.facility_ids:
        raise InvalidInput.on("facility_ids", "an operator needs the facilities it reports for")
    if data.role in (Role.admin, Role.gis, Role.app) and (data.admin_codes or data.facility_ids):
        raise InvalidInput.on("admin_codes", f"a {data.role} key has no scope")
    if data.role == Role.operator and data.admin_codes:
        raise InvalidInput.on("admin_codes", "an operator is scoped by facility ids only")
    for index, code in enumerate(data.admin_codes):
        if divisions.level_of(session, code) is None:
            raise InvalidInput.on(f"admin_codes.{index}", f"{code} is not a known division code")
    secret = KEY_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey(
        name=data.name,
        role=data.role,
        key_hash=hash_key(secret),
        prefix=secret[:10],
        admin_codes=sorted(set(data.admin_codes)),
        facility_ids=sorted(set(data.facility_ids)),
        rate_per_minute=data.rate_per_minute,
        created_by=actor,
    )
    session.add(key)
    session.flush()
    audit.record_write(
        session, actor, "create", "api_key", key.id, None, before=None, after=_audited(key)
    )
    return CreatedKey(key=key, secret=secret)


def list_keys(session: Session, *, include_revoked: bool = False) -> list[ApiKey]:
    return repository.list_keys(session, include_revoked=include_revoked)


def get_key(session: Session, key_id: int) -> ApiKey:
    key = repository.get(session, key_id)
    if key is None:
        raise KeyNotFound(key_id=key_id)
    return key


def revoke_key(
    session: Session, key_id: int, *, actor: str | None, current_key_id: int | None = None
) -> ApiKey:
    """Revoking is idempotent: a revoked key stays revoked at its first revocation time."""
    key = repository.get(session, key_id, for_update=True)
    if key is None:
        raise KeyNotFound(key_id=key_id)
    if key_id == current_key_id:
        # Revoking the key in hand could lock the last admin out; use another key or the CLI.
        raise Conflict("a key cannot revoke itself: use another admin key or `rf keys revoke`")
    if key.revoked_at is None:
        key.revoked_at = datetime.now(UTC)
        session.flush()
        audit.record(
            session,
            actor=actor,
            action="revoke",
            entity="api_key",
            entity_id=str(key.id),
            changes={"revoked_at": {"old": None, "new": key.revoked_at.isoformat()}},
        )
    return key


def authenticate_hash(session: Session, key_hash: str) -> Principal | None:
    """The caller a key's hash names (hash_key), or None for an unknown or revoked key."""
    key = repository.by_hash(session, key_hash)
    if key is None or key.revoked_at is not None:
        return None
    return Principal(
        key_id=key.id,
        name=key.name,
        role=key.role,
        admin_codes=tuple(key.admin_codes),
        facility_ids=tuple(key.facility_ids),
        rate_per_minute=key.rate_per_minute,
    )


def _audited(key: ApiKey) -> dict:
    return {
        "name": key.name,
        "role": str(key.role),
        "prefix": key.prefix,
        "admin_codes": list(key.admin_codes),
        "facility_ids": list(key.facility_ids),
    }
