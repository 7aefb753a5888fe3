from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Index, Text, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base, IdentityKey
from app.db.types import JsonObject


class AuditEvent(Base):
    """One write: who, when, what, and the values before and after. Append-only (a
    trigger refuses UPDATE and DELETE), written in the transaction of the change."""

    __tablename__ = "audit_event"
    __table_args__ = (
        Index("ix_audit_event_facility_id_id", "facility_id", "id"),
        Index("ix_audit_event_entity_entity_id", "entity", "entity_id"),
        {"postgresql_partition_by": "RANGE (at)"},
    )

    id: Mapped[IdentityKey]
    # clock_timestamp, not now(): several writes in one transaction (an import, a test)
    # still get distinct, ordered times, which `as_of` relies on. In the key because the
    # table is partitioned by month of it (migration 0019, app.db.partitions).
    at: Mapped[datetime] = mapped_column(server_default=text("clock_timestamp()"), primary_key=True)
    actor: Mapped[str | None] = mapped_column(Text)
    action: Mapped[str] = mapped_column(Text)
    entity: Mapped[str] = mapped_column(Text)
    entity_id: Mapped[str] = mapped_column(Text)
    # No foreign key: history must outlive what it describes.
    facility_id: Mapped[int | None] = mapped_column(BigInteger)
    changes: Mapped[JsonObject]
    # Why, where a write must say so (a facility's visibility).
    reason: Mapped[str | None] = mapped_column(Text)
    # For facilities, the whole document before and after the write: `as_of` reads these.
    before: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
