from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field

from app.core.schemas import ApiModel, Instant, WindowHistory
from app.uses.models import OpeningStatus

Count = Annotated[int, Field(ge=0, le=100_000)]


class OccupancyReport(ApiModel):
    """What a gate or charger system pushes, in ParkAPI's terms."""

    realtime_free_capacity: Count
    realtime_free_charging_piles: Count | None = None
    realtime_opening_status: OpeningStatus = OpeningStatus.unknown
    realtime_data_updated_at: Instant = Field(description="when the figures were observed")


class OccupancyRecord(BaseModel):
    realtime_free_capacity: int
    realtime_free_charging_piles: int | None
    realtime_opening_status: OpeningStatus
    realtime_data_updated_at: datetime
    received_at: datetime


class OccupancyHistory(WindowHistory):
    items: list[OccupancyRecord]
