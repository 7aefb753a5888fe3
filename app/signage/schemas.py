from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BaseModel, Field, StringConstraints

from app.core.geo import Point
from app.core.schemas import ApiModel, CursorPage, Day, partial_model
from app.signage.models import RuleAppliesTo, SignKind, SignStatus

Digest = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]


class SignCreate(ApiModel):
    kind: SignKind
    status: SignStatus
    location: Point | None = None
    description: Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)] | None = (
        None
    )
    installed_on: Day | None = None
    inspected_on: Day | None = None
    photos: list[Digest] = Field(default_factory=list, max_length=20, description="photo hashes")


SignUpdate = partial_model(SignCreate, name="SignUpdate", required={"kind", "status", "photos"})


class SignRead(BaseModel):
    id: int
    facility_id: int
    kind: SignKind
    status: SignStatus
    location: dict[str, Any] | None
    description: str | None
    installed_on: date | None
    inspected_on: date | None
    photos: list[str]
    version: int
    created_at: datetime
    updated_at: datetime


class Requirement(BaseModel):
    kind: SignKind
    min_count: int
    installed: int
    satisfied: bool


class FacilitySignage(BaseModel):
    facility_id: int
    rule_locality: str | None = Field(description="division whose rule set applies")
    used_for_parking: bool
    complete: bool
    damaged: int
    requirements: list[Requirement]
    signs: list[SignRead]


class IncompleteFacility(BaseModel):
    facility_id: int
    code: str
    name: str
    admin_code: str
    rule_locality: str | None
    missing: list[Requirement]
    damaged: int


class IncompletePage(CursorPage):
    items: list[IncompleteFacility]


LATE_REGISTRATIONS = Field(
    None, description="for a past day: works counted that the registry learnt of later"
)


class ProgressGroup(BaseModel):
    code: str
    name: str | None
    total: int
    complete: int
    ratio: float | None
    late_registrations: int | None = LATE_REGISTRATIONS


class TimelineMonth(BaseModel):
    month: str = Field(examples=["2021-05"])
    installs: int = Field(description="signs installed in the month")
    completed: int = Field(description="facilities whose last required sign went up")
    cumulative_completed: int


class SignageProgress(BaseModel):
    admin_code: str
    parking_only: bool
    as_of: date | None = Field(None, description="the day counted, when not today")
    total: int
    complete: int
    ratio: float | None
    late_registrations: int | None = LATE_REGISTRATIONS
    groups: list[ProgressGroup]
    timeline: list[TimelineMonth]


class RuleRead(BaseModel):
    admin_code: str
    kind: SignKind
    applies_to: RuleAppliesTo
    min_count: int
    source: str | None
