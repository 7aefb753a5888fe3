from sqlalchemy import select
from sqlalchemy.orm import Session

from app.accounts.models import ApiKey


def by_hash(session: Session, key_hash: str) -> ApiKey | None:
    return session.scalar(select(ApiKey).where(ApiKey.key_hash == key_hash))


def get(session: Session, key_id: int, *, for_update: bool = False) -> ApiKey | None:
    query = select(ApiKey).where(ApiKey.id == key_id)
    return session.scalar(query.with_for_update() if for_update else query)


def list_keys(session: Session, *, include_revoked: bool) -> list[ApiKey]:
    query = select(ApiKey).order_by(ApiKey.id)
    if not include_revoked:
        query = query.where(ApiKey.revoked_at.is_(None))
    return list(session.scalars(query))
