from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from app.alerts.schemas import AlertSummary
from app.core.geo import CoordSys
from app.core.navigation import Navigation, Position
from app.core.schemas import ApiModel, Instant, WindowHistory
from app.shelters.models import ConversionKind, ShelterState


class ShelterStatusReport(ApiModel):
    """What a shelter's operator pushes during an alert or a drill."""

    state: ShelterState
    persons_inside: Annotated[int, Field(ge=0, le=1_000_000)]
    observed_at: Instant = Field(description="when the count was taken")


class ShelterStatusRead(BaseModel):
    state: ShelterState | None = Field(description="null when no fresh report")
    persons_inside: int | None
    free_places: int | None = Field(description="by a fresh report; 0 when closed or full")
    capacity_persons: int
    observed_at: datetime | None
    age_seconds: int | None
    stale: bool


class ShelterStatusRecord(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    state: ShelterState
    persons_inside: int
    observed_at: datetime
    received_at: datetime
    reported_by: str | None = Field(
        description="the key that sent it, to an admin, a GIS key or the work's manager only"
    )


class ShelterStatusHistory(WindowHistory):
    items: list[ShelterStatusRecord]


class ShelterEntrance(BaseModel):
    id: int
    accessible: bool
    name: str | None
    location: Position
    distance_m: float


class LiveStatus(BaseModel):
    state: str = Field(description="open, closed, full; unknown when stale")
    persons_inside: int | None
    observed_at: datetime
    age_seconds: int
    stale: bool


class Protection(BaseModel):
    nuclear_level: str | None
    conventional_level: str | None
    chemical_class: str | None


class ShelterItem(BaseModel):
    facility_id: int
    code: str
    name: str
    address: str
    wartime_function: str
    wartime_subtype: str | None
    location: Position
    distance_m: float = Field(description="geodesic metres to the nearest pedestrian entrance")
    entrance: ShelterEntrance | None
    capacity_persons: int | None
    free_places: int | None = Field(description="by a fresh status report only")
    status: LiveStatus | None
    conversion_hours: int | None = Field(description="only for callers who may see it")
    opened_by_alert: bool = Field(description="a restricted work opened by an alert's flag")
    protection: Protection | None = Field(description="only for callers who may see it")
    navigation: Navigation


class ShelterAnswer(BaseModel):
    coordsys: CoordSys
    center: Position
    radius_m: float
    generated_at: datetime
    distance: str
    alert_mode: bool = Field(description="an Actual air-raid alert is in force here")
    alerts: list[AlertSummary]
    items: list[ShelterItem]


class ConversionTaskWrite(ApiModel):
    kind: ConversionKind
    name: Annotated[str, Field(max_length=200)] = ""
    hours: Annotated[Decimal, Field(gt=0, le=8760, max_digits=7, decimal_places=2)]
    drilled_on: date | None = Field(default=None, description="the last drill of this step")


class ConversionTaskRead(BaseModel):
    id: int
    kind: ConversionKind
    name: str
    hours: float
    drilled_on: date | None


class ConversionPlan(BaseModel):
    facility_id: int
    tasks: list[ConversionTaskRead]
    total_hours: float | None = Field(description="the steps one after another")


class Share(BaseModel):
    shelters: int
    capacity: int


class BlockingStep(Share):
    kind: ConversionKind


class DivisionReadiness(BaseModel):
    admin_code: str | None
    name: str | None
    shelters: int
    capacity: int
    ready: Share = Field(description="convertible within the hours asked")
    too_slow: Share
    no_plan: Share = Field(description="neither conversion steps nor a stated time")
    blocking_steps: list[BlockingStep] = Field(
        description="the longest step of each too-slow work with a plan, by kind"
    )


class OverdueWork(BaseModel):
    facility_id: int
    code: str
    name: str
    admin_code: str | None
    last_drill: date | None


class DrillOverdue(BaseModel):
    before: date
    total: int
    works: list[OverdueWork]


class ReadinessAnswer(BaseModel):
    admin_code: str | None
    within_hours: float
    as_of: date | None = Field(None, description="the works and plans as of this day")
    late_registrations: int | None = Field(
        None, description="for a past day: shelter works counted that the registry learnt of later"
    )
    conversion_time: str
    divisions: list[DivisionReadiness]
    drill_overdue: DrillOverdue
