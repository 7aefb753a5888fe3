import enum
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    CheckConstraint,
    Date,
    DateTime,
    Numeric,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.core.dates import instant_range_sql
from app.db.base import Base, IdentityKey, InsertedAt
from app.db.types import str_enum
from app.facilities.models import FacilityKey, geography_index

# Works whose wartime function takes people in: personnel shelters (人员掩蔽工程), and the
# evacuation trunk tunnels (疏散干道) that hold people passing through, in service and not
# deleted. The public shelter finder, live shelter status and readiness all mean these.
SHELTER_FUNCTION = (
    "(wartime_function = 'personnel_shelter' OR wartime_subtype = 'evacuation_trunk')"
)
SHELTER_WORK = f"{SHELTER_FUNCTION} AND status = 'in_service' AND deleted_at IS NULL"

# The shelter finder's KNN search in metres on the ellipsoid, over the shelter works only.
geography_index("ix_facility_shelter_work_geography", SHELTER_WORK)


class ShelterState(enum.StrEnum):
    open = "open"
    closed = "closed"
    full = "full"


class ShelterStatus(Base):
    """Every accepted status report of a shelter during an alert or a drill (history); the
    latest one is the shelter's current status."""

    __tablename__ = "shelter_status"
    __table_args__ = (
        CheckConstraint("persons_inside >= 0", name="persons_non_negative"),
        CheckConstraint(instant_range_sql("observed_at"), name="observed_at_range"),
        # By month, kept and pruned by app.db.partitions (migration 0025).
        {"postgresql_partition_by": "RANGE (observed_at)"},
    )

    facility_id: Mapped[FacilityKey] = mapped_column(primary_key=True)
    observed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    state: Mapped[ShelterState] = mapped_column(str_enum(ShelterState))
    persons_inside: Mapped[int]
    received_at: Mapped[InsertedAt]
    reported_by: Mapped[str | None] = mapped_column(Text)


class ConversionKind(enum.StrEnum):
    """The steps of peacetime-to-wartime conversion (平战转换)."""

    block_openings = "block_openings"  # close the peacetime openings
    install_doors = "install_doors"  # install or close the protective doors
    clear_vehicles = "clear_vehicles"  # move the cars out
    switch_ventilation = "switch_ventilation"  # to filtered wartime ventilation
    switch_power = "switch_power"  # to the wartime power supply
    other = "other"


class ConversionTask(Base):
    """One step of a work's conversion plan, with the hours it takes and its last drill."""

    __tablename__ = "conversion_task"
    __table_args__ = (
        UniqueConstraint("facility_id", "kind", "name"),
        CheckConstraint("hours > 0 AND hours <= 8760", name="hours_range"),
        CheckConstraint("drilled_on >= DATE '1949-10-01'", name="drilled_on_range"),
    )

    id: Mapped[IdentityKey]
    facility_id: Mapped[FacilityKey]
    kind: Mapped[ConversionKind] = mapped_column(str_enum(ConversionKind))
    name: Mapped[str] = mapped_column(Text, server_default=text("''"))
    hours: Mapped[Decimal] = mapped_column(Numeric(7, 2))
    drilled_on: Mapped[date | None] = mapped_column(Date)
