import enum
from datetime import date

from geoalchemy2 import Geometry
from sqlalchemy import (
    CheckConstraint,
    Date,
    Index,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.core.dates import day_range_sql
from app.db.base import Base, IdentityKey, Timestamped, Version
from app.db.types import empty_array, str_enum
from app.divisions.models import DivisionKey
from app.facilities.models import FacilityKey


class SignKind(enum.StrEnum):
    identification_plaque = "identification_plaque"  # name, registry no., function, capacity
    vehicle_entrance = "vehicle_entrance"
    pedestrian_entrance = "pedestrian_entrance"
    direction = "direction"  # towards the entrance, ~100 m out and every 300 m after
    peacetime_use = "peacetime_use"
    conversion = "conversion"  # peacetime-to-wartime conversion instructions
    wartime_evacuation = "wartime_evacuation"
    overview_board = "overview_board"
    maintenance_board = "maintenance_board"  # maintenance information with a QR code


class SignStatus(enum.StrEnum):
    missing = "missing"
    planned = "planned"
    installed = "installed"
    damaged = "damaged"
    removed = "removed"


class RuleAppliesTo(enum.StrEnum):
    all = "all"
    parking = "parking"  # facilities used for parking in peacetime


class Sign(Timestamped, Base):
    __tablename__ = "sign"
    __table_args__ = (
        CheckConstraint(
            "status <> 'installed' OR installed_on IS NOT NULL", name="installed_has_date"
        ),
        CheckConstraint(
            "inspected_on IS NULL OR installed_on IS NULL OR inspected_on >= installed_on",
            name="inspected_after_installed",
        ),
        CheckConstraint(day_range_sql("installed_on"), name="installed_on_range"),
        CheckConstraint(day_range_sql("inspected_on"), name="inspected_on_range"),
        # The only index besides the key: every read goes through the facility.
        Index("ix_sign_facility_id_kind", "facility_id", "kind"),
    )

    id: Mapped[IdentityKey]
    facility_id: Mapped[FacilityKey]
    kind: Mapped[SignKind] = mapped_column(str_enum(SignKind))
    status: Mapped[SignStatus] = mapped_column(str_enum(SignStatus))
    location = mapped_column(Geometry("POINT", srid=4326, spatial_index=False))
    description: Mapped[str | None] = mapped_column(Text)
    installed_on: Mapped[date | None] = mapped_column(Date)
    inspected_on: Mapped[date | None] = mapped_column(Date)
    photos: Mapped[list[str]] = empty_array(String(64))
    version: Mapped[Version]


class SignageRule(Base):
    """Which signs a facility must carry, per locality: cities publish their own rules,
    so this is data. A facility follows the rules of its most specific division that has
    any (district, else city, else province)."""

    __tablename__ = "signage_rule"
    __table_args__ = (
        UniqueConstraint("admin_code", "kind", "applies_to"),
        CheckConstraint("min_count >= 1", name="min_count_positive"),
    )

    id: Mapped[IdentityKey]
    admin_code: Mapped[DivisionKey] = mapped_column(index=True)
    kind: Mapped[SignKind] = mapped_column(str_enum(SignKind))
    applies_to: Mapped[RuleAppliesTo] = mapped_column(str_enum(RuleAppliesTo))
    min_count: Mapped[int] = mapped_column(SmallInteger, server_default=text("1"))
    source: Mapped[str | None] = mapped_column(Text)
