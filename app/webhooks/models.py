import enum
import uuid
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    Uuid,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base, IdentityKey, InsertedAt, Timestamped
from app.db.types import str_enum
from app.divisions.models import DivisionKey


class Event(enum.StrEnum):
    """What a subscription may ask to hear of (docs/api.md, Webhooks)."""

    report_created = "report.created"
    maintenance_finding = "maintenance.finding"
    maintenance_overdue = "maintenance.overdue"
    occupancy_stale = "occupancy.stale"
    alert_received = "alert.received"
    alert_updated = "alert.updated"
    alert_cancelled = "alert.cancelled"


class DeliveryStatus(enum.StrEnum):
    pending = "pending"  # waiting for its first or next attempt
    delivered = "delivered"  # answered 2xx
    failed = "failed"  # not delivered within the retry window: given up


class WebhookSubscription(Timestamped, Base):
    """A key's wish to hear of events about the works in its scope, or in one division of
    it. Deleted with its key's rows; a revoked key's subscriptions hear nothing."""

    __tablename__ = "webhook_subscription"
    __table_args__ = (
        CheckConstraint("cardinality(events) BETWEEN 1 AND 16", name="events_count"),
        CheckConstraint("char_length(url) <= 2048", name="url_length"),
        Index("ix_webhook_subscription_key_id", "key_id"),
    )

    id: Mapped[IdentityKey]
    key_id: Mapped[int] = mapped_column(ForeignKey("api_key.id", ondelete="CASCADE"))
    url: Mapped[str] = mapped_column(Text)
    events: Mapped[list[str]] = mapped_column(ARRAY(String(32)))
    # Only events about works in this division; the key's whole scope when null.
    admin_code: Mapped[DivisionKey | None]
    description: Mapped[str | None] = mapped_column(Text)
    # The HMAC key, kept as given ("whsec_" + base64): it must be read to sign, so it
    # cannot be hashed; no answer ever carries it.
    secret: Mapped[str] = mapped_column(Text)
    consecutive_failures: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    paused_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class WebhookOutbox(Base):
    """Events written in the transaction that caused them, fanned out to deliveries by
    the worker (app/webhooks/worker.py): a rolled-back write leaves none."""

    __tablename__ = "webhook_outbox"

    id: Mapped[IdentityKey]
    event_id: Mapped[uuid.UUID] = mapped_column(Uuid, server_default=text("gen_random_uuid()"))
    event_type: Mapped[Event] = mapped_column(str_enum(Event))
    # The work the event is about: decides which subscriptions' scopes it falls in. None
    # for events about no work (alerts), which every subscriber to them hears.
    facility_id: Mapped[int | None] = mapped_column(BigInteger)
    data: Mapped[dict] = mapped_column(JSONB)
    created_at: Mapped[InsertedAt]


class WebhookEpisode(Base):
    """Time-driven events (an item overdue, a feed stale) already sent, so that each
    episode is sent once, whichever process sweeps first."""

    __tablename__ = "webhook_episode"

    event_type: Mapped[Event] = mapped_column(str_enum(Event), primary_key=True)
    subject: Mapped[str] = mapped_column(Text, primary_key=True)
    created_at: Mapped[InsertedAt]


class WebhookDelivery(Base):
    """One event for one subscription: its body as signed, its attempts and last answer."""

    __tablename__ = "webhook_delivery"
    __table_args__ = (
        Index("ix_webhook_delivery_subscription_id_id", "subscription_id", "id"),
        Index(
            "ix_webhook_delivery_next_attempt_at",
            "next_attempt_at",
            postgresql_where=text("status = 'pending'"),
        ),
        CheckConstraint("char_length(response_excerpt) <= 1024", name="excerpt_length"),
    )

    id: Mapped[IdentityKey]
    subscription_id: Mapped[int] = mapped_column(
        ForeignKey("webhook_subscription.id", ondelete="CASCADE")
    )
    # The webhook-id header: the same for every attempt and replay, so that a receiver
    # recognises a message it has already handled.
    event_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    event_type: Mapped[Event] = mapped_column(str_enum(Event))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[DeliveryStatus] = mapped_column(
        str_enum(DeliveryStatus), server_default=DeliveryStatus.pending.value
    )
    attempts: Mapped[int] = mapped_column(SmallInteger, server_default=text("0"))
    created_at: Mapped[InsertedAt]
    next_attempt_at: Mapped[InsertedAt]
    last_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    response_status: Mapped[int | None] = mapped_column(SmallInteger)
    response_excerpt: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    replay_of: Mapped[int | None] = mapped_column(
        ForeignKey("webhook_delivery.id", ondelete="SET NULL")
    )
