import enum
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base, IdentityKey, InsertedAt
from app.db.types import empty_array, str_enum


class Role(enum.StrEnum):
    admin = "admin"  # everything
    manager = "manager"  # writes facilities in its scope (admin codes and/or facility ids)
    operator = "operator"  # pushes parking occupancy for its own facilities only
    gis = "gis"  # reads restricted layers and fields, writes nothing
    # A city app's backend or a partner: reads public data only, and may relay residents'
    # problem reports (limited per key, not per address: its users share its address).
    app = "app"
    # A warning authority's system: posts CAP alerts (POST /v1/alerts), reads public data.
    alert_authority = "alert_authority"


class ApiKey(Base):
    """An API key. Only the SHA-256 of the secret is stored: the key is shown once."""

    __tablename__ = "api_key"
    __table_args__ = (
        CheckConstraint("rate_per_minute BETWEEN 1 AND 1000000", name="rate_per_minute_range"),
    )

    id: Mapped[IdentityKey]
    name: Mapped[str] = mapped_column(Text)
    role: Mapped[Role] = mapped_column(str_enum(Role))
    # Hex SHA-256 of the whole key. Unique, so one indexed lookup authenticates a request.
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The first characters of the key, kept in clear so people can tell their keys apart.
    prefix: Mapped[str] = mapped_column(String(16))
    admin_codes: Mapped[list[str]] = empty_array(String(6))
    facility_ids: Mapped[list[int]] = empty_array(BigInteger)
    # Requests per minute over every kind of traffic; the setting's quota when null.
    rate_per_minute: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[InsertedAt]
    created_by: Mapped[str | None] = mapped_column(Text)
    revoked_at: Mapped[datetime | None]
