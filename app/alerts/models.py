import enum
from datetime import datetime

from geoalchemy2 import Geometry
from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base, IdentityKey, InsertedAt
from app.db.types import JsonObject, empty_array, str_enum


class AlertStatus(enum.StrEnum):
    """CAP 1.2 status values accepted here; System and Draft are not for the public."""

    actual = "Actual"
    exercise = "Exercise"
    test = "Test"


class MsgType(enum.StrEnum):
    alert = "Alert"
    update = "Update"
    cancel = "Cancel"


class Alert(Base):
    """A CAP 1.2 message as received (`document`), with what the queries need as columns.
    An Update ends the messages it references when it takes effect itself (their
    `ended_at`, `ended_by`), a Cancel likewise; a message stops being in force by itself
    at `expires_at` (rules.IN_FORCE)."""

    __tablename__ = "alert"
    __table_args__ = (
        # CAP: the identifier is unique for its sender.
        UniqueConstraint("sender", "identifier"),
    )

    id: Mapped[IdentityKey]
    identifier: Mapped[str] = mapped_column(Text)
    sender: Mapped[str] = mapped_column(Text)
    sent: Mapped[datetime]
    status: Mapped[AlertStatus] = mapped_column(str_enum(AlertStatus))
    msg_type: Mapped[MsgType] = mapped_column(str_enum(MsgType))
    scope: Mapped[str] = mapped_column(String(16))
    references: Mapped[list[str]] = empty_array(Text)
    # An air raid or the like (rules.AIR_RAID): an Actual one switches answers to shelters.
    air_raid: Mapped[bool] = mapped_column(Boolean)
    # The sender opens the restricted works in the area to the public (rules.OPEN_RESTRICTED).
    open_restricted: Mapped[bool] = mapped_column(Boolean)
    effective_at: Mapped[datetime]
    # The latest expiry of its info blocks; none when one of them has none.
    expires_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    ended_by: Mapped[int | None] = mapped_column(ForeignKey("alert.id", ondelete="SET NULL"))
    # The document as received, and its SHA-256 that makes a repeated post idempotent.
    document: Mapped[str] = mapped_column(Text)
    document_sha256: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[InsertedAt]
    received_from: Mapped[str | None] = mapped_column(Text)


class AlertInfo(Base):
    __tablename__ = "alert_info"
    __table_args__ = (UniqueConstraint("alert_id", "position"),)

    id: Mapped[IdentityKey]
    alert_id: Mapped[int] = mapped_column(ForeignKey("alert.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(SmallInteger)
    language: Mapped[str] = mapped_column(Text)
    categories: Mapped[list[str]] = mapped_column(ARRAY(Text))
    event: Mapped[str] = mapped_column(Text)
    urgency: Mapped[str] = mapped_column(String(16))
    severity: Mapped[str] = mapped_column(String(16))
    certainty: Mapped[str] = mapped_column(String(16))
    effective: Mapped[datetime | None]
    onset: Mapped[datetime | None]
    expires: Mapped[datetime | None]
    headline: Mapped[str | None] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    instruction: Mapped[str | None] = mapped_column(Text)
    parameters: Mapped[JsonObject]


class AlertArea(Base):
    """An info block's area: its polygons, circles and division codes (GB/T 2260) as one
    geometry in WGS 84."""

    __tablename__ = "alert_area"
    __table_args__ = (
        Index("ix_alert_area_geom", "geom", postgresql_using="gist"),
        CheckConstraint("NOT ST_IsEmpty(geom)", name="geom_not_empty"),
    )

    id: Mapped[IdentityKey]
    info_id: Mapped[int] = mapped_column(ForeignKey("alert_info.id", ondelete="CASCADE"))
    alert_id: Mapped[int] = mapped_column(ForeignKey("alert.id", ondelete="CASCADE"), index=True)
    description: Mapped[str] = mapped_column(Text)
    admin_codes: Mapped[list[str]] = empty_array(String(6))
    geom = mapped_column(Geometry("MULTIPOLYGON", srid=4326, spatial_index=False), nullable=False)
