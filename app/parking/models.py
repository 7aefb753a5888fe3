from datetime import datetime

from sqlalchemy import CheckConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from app.core.dates import instant_range_sql
from app.db.base import Base
from app.db.types import str_enum
from app.facilities.models import FacilityKey
from app.uses.models import OpeningStatus


class ParkingOccupancy(Base):
    """Every accepted occupancy report, for reading history back by time range."""

    __tablename__ = "parking_occupancy"
    __table_args__ = (
        CheckConstraint(
            "free_spaces >= 0 AND (free_charging_piles IS NULL OR free_charging_piles >= 0)",
            name="non_negative",
        ),
        CheckConstraint(instant_range_sql("observed_at"), name="observed_at_range"),
        # By month, kept and pruned by app.db.partitions (migration 0019).
        {"postgresql_partition_by": "RANGE (observed_at)"},
    )

    facility_id: Mapped[FacilityKey] = mapped_column(primary_key=True)
    observed_at: Mapped[datetime] = mapped_column(primary_key=True)
    free_spaces: Mapped[int]
    free_charging_piles: Mapped[int | None]
    opening_status: Mapped[OpeningStatus] = mapped_column(str_enum(OpeningStatus))
    received_at: Mapped[datetime] = mapped_column(server_default=text("now()"))
