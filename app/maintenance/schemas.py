from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from app.core.schemas import ApiModel, Day
from app.maintenance.models import CheckResult, Discipline, RecordKind, Severity

Note = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]


class ItemRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str
    discipline: Discipline
    name: str
    name_zh: str
    interval_months: int
    description: str | None


class CheckIn(ApiModel):
    item_code: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    result: CheckResult
    severity: Severity = Severity.none
    finding: Note | None = None
    closes_id: Annotated[int, Field(ge=1, le=2**63 - 1)] | None = Field(
        default=None, description="on a repair: the id of the serious finding it closes"
    )


class RecordCreate(ApiModel):
    kind: RecordKind
    performed_on: Day
    performed_by: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)
    ]
    note: Note | None = None
    corrects_id: Annotated[int, Field(ge=1, le=2**63 - 1)] | None = Field(
        default=None, description="the record this one corrects and replaces"
    )
    checks: list[CheckIn] = Field(min_length=1, max_length=200)


class CheckRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    item_code: str
    result: CheckResult
    severity: Severity
    finding: str | None
    closes_id: int | None


class RecordRead(BaseModel):
    id: int
    facility_id: int
    kind: RecordKind
    performed_on: date
    performed_by: str
    note: str | None
    corrects_id: int | None
    corrected_by_id: int | None = Field(description="set when a later record replaced this one")
    recorded_by: str | None
    created_at: datetime
    checks: list[CheckRead]


class FindingRead(BaseModel):
    check_id: int
    record_id: int
    facility_id: int
    item_code: str
    performed_on: date
    severity: Severity
    finding: str | None
    closed_by_check_id: int | None


class OverdueItem(BaseModel):
    facility_id: int
    code: str
    name: str
    admin_code: str
    item_code: str
    discipline: Discipline
    interval_months: int
    last_done_on: date | None
    overdue_since: date = Field(description="the day after the item fell due")


class OverduePage(BaseModel):
    on: date
    items: list[OverdueItem]
    next_cursor: str | None


class OverdueDivision(BaseModel):
    code: str = Field(description="the division (GB/T 2260); empty for works not placed in one")
    name: str | None
    facilities: int = Field(description="works with at least one overdue item")
    items: int = Field(description="overdue (work, item) pairs")


class OverdueSummary(BaseModel):
    on: date
    admin_code: str | None
    groups: list[OverdueDivision]
