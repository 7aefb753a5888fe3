import uuid
from datetime import datetime
from typing import Annotated, Any

from geoalchemy2 import WKBElement
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from app.core.geo import Point, to_geojson
from app.core.schemas import ApiModel, CursorPage
from app.reports.models import ReportKind, ReportStatus


class ReportCreate(ApiModel):
    kind: ReportKind
    description: (
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
        | None
    ) = None
    contact: (
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
        | None
    ) = Field(default=None, description="phone or e-mail; seen only by managers")
    photo: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")] | None = Field(
        default=None, description="hash of a photo uploaded to /v1/media/photos"
    )
    location: Point | None = Field(
        default=None,
        description="where the reporter points (the real entrance, the missing sign), in "
        "`coordsys`; seen only by managers",
    )


class ReportUpdate(ApiModel):
    status: ReportStatus
    note: (
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
        | None
    ) = Field(default=None, description="required when resolving")


class ReportPublicRead(BaseModel):
    """What anyone holding the report's id sees: its progress, not who sent it."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    facility_id: int
    kind: ReportKind
    status: ReportStatus
    created_at: datetime
    acknowledged_at: datetime | None
    resolved_at: datetime | None
    resolution_note: str | None


class ReportRead(ReportPublicRead):
    description: str | None
    contact: str | None
    photo: str | None
    location: dict[str, Any] | None = Field(description="GeoJSON Point, in `coordsys`")
    acknowledged_by: str | None
    resolved_by: str | None
    version: int
    updated_at: datetime

    @field_validator("location", mode="before")
    @classmethod
    def _geojson(cls, value: Any) -> Any:
        return to_geojson(value) if isinstance(value, WKBElement) else value


class ReportPage(CursorPage):
    items: list[ReportRead]


class ReportStatsGroup(BaseModel):
    code: str
    name: str | None
    total: int
    open: int
    acknowledged: int
    resolved: int
    by_kind: dict[str, int]


class ReportStats(BaseModel):
    admin_code: str
    total: int
    groups: list[ReportStatsGroup]
