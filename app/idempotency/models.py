from sqlalchemy import Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base, InsertedAt
from app.db.types import JsonObject


class IdempotencyRecord(Base):
    """The answer to a POST sent with an Idempotency-Key, kept so a retry gets the same
    answer instead of creating a second record."""

    __tablename__ = "idempotency_record"

    # Keys are per caller: one client cannot replay (or block) another's key.
    owner: Mapped[str] = mapped_column(Text, primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    status: Mapped[int | None] = mapped_column(Integer)
    media_type: Mapped[str | None] = mapped_column(Text)
    body: Mapped[str | None] = mapped_column(Text)
    headers: Mapped[JsonObject]
    created_at: Mapped[InsertedAt] = mapped_column(index=True)
