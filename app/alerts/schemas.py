from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field


class AlertAreaRead(BaseModel):
    description: str
    admin_codes: list[str]
    geometry: dict[str, Any] = Field(description="GeoJSON MultiPolygon, WGS 84")


class AlertInfoRead(BaseModel):
    language: str
    categories: list[str]
    event: str
    urgency: str
    severity: str
    certainty: str
    effective: datetime | None
    onset: datetime | None
    expires: datetime | None
    headline: str | None
    description: str | None
    instruction: str | None
    parameters: dict[str, list[str]]
    areas: list[AlertAreaRead]


class AlertRead(BaseModel):
    id: int
    identifier: str
    sender: str
    sent: datetime
    status: str
    msg_type: str
    scope: str
    references: list[str]
    drill: bool = Field(description="Exercise or Test: shown, never switches real answers")
    air_raid: bool
    open_restricted: bool
    effective_at: datetime
    expires_at: datetime | None
    ended_at: datetime | None
    ended_by: int | None
    in_force: bool
    infos: list[AlertInfoRead]


class AlertReceived(AlertRead):
    ended: list[int] = Field(description="messages this one ended (Update, Cancel)")


class ActiveAlerts(BaseModel):
    generated_at: datetime
    items: list[AlertRead]


class AlertSummary(BaseModel):
    """An alert in force over the query point, as answers that change with it carry it."""

    id: int
    identifier: str
    sender: str
    status: str
    msg_type: str
    events: list[str]
    headline: str | None
    sent: datetime
    expires_at: datetime | None
    air_raid: bool
    open_restricted: bool
    drill: bool
