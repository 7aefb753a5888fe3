import enum
from datetime import datetime
from decimal import Decimal

from geoalchemy2 import Geography
from sqlalchemy import (
    CheckConstraint,
    Computed,
    Index,
    Numeric,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.core.dates import instant_range_sql
from app.db.base import Base, IdentityKey, Timestamped, Version
from app.db.types import JsonObject, str_enum
from app.facilities.models import FacilityKey


class UseType(enum.StrEnum):
    parking = "parking"
    ev_charging = "ev_charging"
    gym = "gym"
    cool_spot = "cool_spot"
    express_delivery = "express_delivery"
    cultural_room = "cultural_room"
    convenience_store = "convenience_store"
    food_market = "food_market"
    warehouse = "warehouse"
    other = "other"


class OpeningStatus(enum.StrEnum):
    """ParkAPI's realtime_opening_status."""

    open = "OPEN"
    closed = "CLOSED"
    unknown = "UNKNOWN"


def _attribute(name: str, sql_type: str) -> Computed:
    return Computed(f"(attributes ->> '{name}')::{sql_type}", persisted=True)


class PeacetimeUse(Timestamped, Base):
    """A peacetime use (平时用途) of a facility. Type-specific attributes live in
    `attributes`; the ones searched on are generated columns beside it."""

    __tablename__ = "peacetime_use"
    __table_args__ = (
        # One car park per facility: occupancy is pushed per facility.
        Index(
            "uq_peacetime_use_parking_per_facility",
            "facility_id",
            unique=True,
            postgresql_where=text("type = 'parking'"),
        ),
        # Nearby search: KNN on location, with the type a filter: most uses are car parks,
        # and searches for the rarer types are bounded by their radius.
        Index("ix_peacetime_use_location", "location", postgresql_using="gist"),
        CheckConstraint(
            "realtime_free_spaces IS NULL OR realtime_free_spaces >= 0",
            name="free_spaces_non_negative",
        ),
        CheckConstraint(
            instant_range_sql("realtime_observed_at"), name="realtime_observed_at_range"
        ),
    )

    id: Mapped[IdentityKey]
    facility_id: Mapped[FacilityKey] = mapped_column(index=True)
    type: Mapped[UseType] = mapped_column(str_enum(UseType))
    name: Mapped[str | None] = mapped_column(Text)
    opening_hours: Mapped[str | None] = mapped_column(Text)
    contact_name: Mapped[str | None] = mapped_column(Text)
    contact_phone: Mapped[str | None] = mapped_column(Text)
    fee: Mapped[str | None] = mapped_column(Text)
    attributes: Mapped[JsonObject]
    # The facility's location, copied by triggers so that nearby search is one index scan.
    location = mapped_column(Geography("POINT", srid=4326, spatial_index=False), nullable=False)

    total_spaces: Mapped[int | None] = mapped_column(_attribute("total_spaces", "int"))
    accessible_spaces: Mapped[int | None] = mapped_column(_attribute("accessible_spaces", "int"))
    ev_spaces: Mapped[int | None] = mapped_column(_attribute("ev_spaces", "int"))
    charging_piles: Mapped[int | None] = mapped_column(_attribute("charging_piles", "int"))
    charging_max_kw: Mapped[Decimal | None] = mapped_column(
        Numeric, _attribute("charging_max_kw", "numeric")
    )
    height_limit_m: Mapped[Decimal | None] = mapped_column(
        Numeric, _attribute("height_limit_m", "numeric")
    )

    # Occupancy reports do not count as edits.
    version: Mapped[Version]

    # The latest occupancy report (parking only); its history is in parking_occupancy.
    realtime_free_spaces: Mapped[int | None]
    realtime_free_charging_piles: Mapped[int | None]
    realtime_opening_status: Mapped[OpeningStatus | None] = mapped_column(str_enum(OpeningStatus))
    realtime_observed_at: Mapped[datetime | None]
