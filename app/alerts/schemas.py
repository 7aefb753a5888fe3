from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field


class AlertAreaRead(BaseModel):
    description: str
    admin_codes: list[str]
    geometry: dict[str, Any] = Field(description="GeoJSON MultiPolygon, WGS 84")


class InfoFields(BaseModel):
    """What an info block says that is stored as it is, a column each (alert_info): the
    parsed message (cap.Info) and the answers (AlertInfoRead) both carry it."""

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


class AlertInfoRead(InfoFields):
    areas: list[AlertAreaRead]


class MessageFields(BaseModel):
    """What a CAP message says of itself that is stored as it is, a column each (alert):
    the parsed message (cap.Message) and the answers (AlertRead) both carry it."""

    identifier: str
    sender: str
    sent: datetime
    status: str
    msg_type: str
    scope: str


class AlertRead(MessageFields):
    id: int
    references: list[str]
    drill: bool = Field(description="Exercise or Test: shown, never switches real answers")
    air_raid: bool
    open_restricted: bool
    effective_at: datetime
    expires_at: datetime | None
    ended_at: datetime | None = Field(
        description="when an Update or Cancel (`ended_by`) ends it: ahead while that one "
        "has yet to take effect, and it is in force until then"
    )
    ended_by: int | None
    in_force: bool
    infos: list[AlertInfoRead]


class AlertReceived(AlertRead):
    ended: list[int] = Field(
        description="messages this one ends (Update, Cancel): when it takes effect, at once "
        "or at its `effective_at` ahead"
    )


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
