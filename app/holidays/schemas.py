from datetime import date
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from app.holidays.calendar import DayKind
from app.holidays.models import Override


class CalendarDayWrite(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Override = Field(description="holiday, or workday (a make-up working day on a weekend)")
    name: Annotated[str, Field(min_length=1, max_length=100, examples=["合肥解放纪念日"])]


class CalendarDayRead(BaseModel):
    day: date
    kind: DayKind
    name: str | None
    source: str = Field(description="state_council (the chinese-calendar package) or local")
