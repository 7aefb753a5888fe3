from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    StringConstraints,
    Tag,
)

from app.campaigns.models import CampaignKind
from app.core.schemas import ApiModel, Day
from app.maintenance.models import RecordKind
from app.shelters.models import ConversionKind

DivisionCode = Annotated[str, StringConstraints(pattern=r"^[0-9]{6}$")]
ItemCode = Annotated[str, StringConstraints(min_length=1, max_length=100)]
# How recent a record or drill must be on the day evaluated; none: any since the start.
WithinDays = Annotated[int, Field(ge=1, le=3660)]


def _unique(values: list[Any]) -> list[Any]:
    if len(set(values)) != len(values):
        raise ValueError("lists a value twice")
    return values


class MaintenanceRules(ApiModel):
    """A work is done when it has, for each record kind, a record of that kind, and for
    each catalogue item, a check of it (ok or defect) in a record of those kinds, performed
    since the start and within `within_days` of the day evaluated. Corrected records do
    not count."""

    record_kinds: Annotated[
        list[RecordKind], Field(min_length=1, max_length=4), AfterValidator(_unique)
    ] = [RecordKind.inspection]
    items: Annotated[list[ItemCode], Field(max_length=50), AfterValidator(_unique)] = Field(
        [], description="maintenance catalogue codes each to be checked"
    )
    within_days: WithinDays | None = None


class ConversionDrillRules(ApiModel):
    """A shelter work (its wartime function takes people in) is done when it has a
    conversion plan holding a step of each kind in `steps` and every step of it was
    drilled since the start and within `within_days` of the day evaluated."""

    steps: Annotated[list[ConversionKind], Field(max_length=6), AfterValidator(_unique)] = Field(
        [], description="step kinds the plan must hold"
    )
    within_days: WithinDays | None = None


class _CampaignCreate(ApiModel):
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    description: Annotated[str, StringConstraints(max_length=2000)] | None = None
    admin_codes: list[DivisionCode] = Field(
        min_length=1, max_length=50, description="divisions of any level in scope"
    )
    parking_only: bool = Field(False, description="only works used for parking")
    starts_on: Day
    target_on: Day


class SignageCampaignCreate(_CampaignCreate):
    kind: Literal[CampaignKind.signage] = CampaignKind.signage
    rule_locality: DivisionCode | None = Field(
        None,
        description="the division whose signage rules every work is held to; "
        "none: each work's own locality's",
    )


class MaintenanceCampaignCreate(_CampaignCreate):
    kind: Literal[CampaignKind.maintenance]
    rules: MaintenanceRules = MaintenanceRules()


class ConversionDrillCampaignCreate(_CampaignCreate):
    kind: Literal[CampaignKind.conversion_drill]
    rules: ConversionDrillRules = ConversionDrillRules()


def _kind(value: Any) -> str | None:
    # A body without a kind is a signage campaign, as before there were other kinds.
    if isinstance(value, dict):
        return value.get("kind", CampaignKind.signage.value)
    return getattr(value, "kind", None)


# The rule set is the kind's: `kind` picks the schema the body is read with.
CampaignCreate = Annotated[
    Annotated[SignageCampaignCreate, Tag(CampaignKind.signage.value)]
    | Annotated[MaintenanceCampaignCreate, Tag(CampaignKind.maintenance.value)]
    | Annotated[ConversionDrillCampaignCreate, Tag(CampaignKind.conversion_drill.value)],
    Discriminator(
        _kind,
        custom_error_type="kind",
        custom_error_message="kind must be one of " + ", ".join(CampaignKind),
    ),
]


class CampaignRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    kind: CampaignKind
    description: str | None
    admin_codes: list[str]
    parking_only: bool
    rule_locality: str | None
    rules: dict[str, Any] = Field(description="the rule set of a maintenance or drill campaign")
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


class RecordRequirement(BaseModel):
    requirement: Literal["record_kind", "item"]
    code: str = Field(description="the record kind or catalogue item")
    last_on: date | None = Field(description="its last record since the start, if any")


class StepRequirement(BaseModel):
    step: ConversionKind | None = Field(description="none: the work has no conversion plan")
    name: str | None
    drilled_on: date | None = Field(description="its last drill; none for a step not planned")


class ShortWork(BaseModel):
    facility_id: int
    code: str
    name: str
    admin_code: str
    missing: list[SignRequirement | RecordRequirement | StepRequirement] = Field(
        description="what it lacks: required signs, records, or drilled plan steps"
    )
    damaged: int = Field(description="damaged signs, which count as missing")


class CampaignMonth(BaseModel):
    month: str = Field(examples=["2021-05"])
    completed: int = Field(
        description="works complete since that month: the last required sign went up, the "
        "last requirement was first met, or the last step drilled"
    )
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
