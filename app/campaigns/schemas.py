from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from app.campaigns.models import CampaignKind
from app.core.schemas import ApiModel, Day

DivisionCode = Annotated[str, StringConstraints(pattern=r"^[0-9]{6}$")]


class CampaignCreate(ApiModel):
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    kind: CampaignKind = CampaignKind.signage
    description: Annotated[str, StringConstraints(max_length=2000)] | None = None
    admin_codes: list[DivisionCode] = Field(
        min_length=1, max_length=50, description="divisions of any level in scope"
    )
    parking_only: bool = Field(False, description="only works used for parking")
    rule_locality: DivisionCode | None = Field(
        None,
        description="the division whose signage rules every work is held to; "
        "none: each work's own locality's",
    )
    starts_on: Day
    target_on: Day


class CampaignRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    kind: CampaignKind
    description: str | None
    admin_codes: list[str]
    parking_only: bool
    rule_locality: str | None
    starts_on: date
    target_on: date
    created_at: datetime
    created_by: str | None


class Completion(BaseModel):
    on: date = Field(description="counted at the end of this day")
    works: int = Field(description="works in scope that stood (in service or suspended)")
    complete: int
    ratio: float | None
    late_registrations: int | None = Field(
        None, description="for a past day: works counted that the registry learnt of later"
    )


class SignRequirement(BaseModel):
    kind: str
    min_count: int
    installed: int
    satisfied: bool


class ShortWork(BaseModel):
    facility_id: int
    code: str
    name: str
    admin_code: str
    missing: list[SignRequirement] = Field(description="the required signs it lacks")
    damaged: int = Field(description="damaged signs, which count as missing")


class CampaignMonth(BaseModel):
    month: str = Field(examples=["2021-05"])
    completed: int = Field(description="works whose last required sign went up that month")
    cumulative_completed: int


class CampaignEvaluation(BaseModel):
    campaign: CampaignRead
    at_target: Completion | None = Field(
        description="as the works stood at the end of the target day; none before it"
    )
    today: Completion
    short: list[ShortWork] = Field(description="works still short today, by id")
    short_truncated: bool
    timeline: list[CampaignMonth]
