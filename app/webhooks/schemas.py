import uuid
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from app.core.schemas import ApiModel, CursorPage
from app.webhooks.delivery import MAX_URL_LENGTH, check_url, secret_key
from app.webhooks.models import DeliveryStatus, Event


def _url(value: str) -> str:
    check_url(value)  # a TargetRefused is a ValueError: pydantic names the field
    return value


def _secret(value: str) -> str:
    secret_key(value)
    return value


def _distinct(value: list[Event]) -> list[Event]:
    if len(set(value)) != len(value):
        raise ValueError("names an event twice")
    return value


Url = Annotated[str, StringConstraints(max_length=MAX_URL_LENGTH), AfterValidator(_url)]
Secret = Annotated[
    str,
    StringConstraints(max_length=128),
    AfterValidator(_secret),
    Field(description='"whsec_" and the base64 of 24 to 64 random bytes; never shown again'),
]
Events = Annotated[
    list[Event], Field(min_length=1, max_length=len(Event)), AfterValidator(_distinct)
]
AdminCode = Annotated[str, StringConstraints(pattern=r"^[0-9]{6}$")]
Description = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class WebhookCreate(ApiModel):
    url: Url
    events: Events
    secret: Secret
    admin_code: AdminCode | None = Field(
        default=None,
        description="only events about works in this division; the key's whole scope if absent",
    )
    description: Description | None = None


class WebhookUpdate(ApiModel):
    """Fields left out stay as they are; `admin_code` and `description` sent as null are
    cleared."""

    url: Url | None = None
    events: Events | None = None
    secret: Secret | None = None
    admin_code: AdminCode | None = None
    description: Description | None = None


class WebhookRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    key_id: int
    url: str
    events: list[Event]
    admin_code: str | None
    description: str | None
    consecutive_failures: int
    paused_at: datetime | None
    created_at: datetime
    updated_at: datetime


class WebhookPage(CursorPage):
    items: list[WebhookRead]


class DeliveryRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    subscription_id: int
    event_id: uuid.UUID
    event_type: Event
    status: DeliveryStatus
    attempts: int
    created_at: datetime
    next_attempt_at: datetime | None
    last_attempt_at: datetime | None
    delivered_at: datetime | None
    response_status: int | None
    response_excerpt: str | None
    error: str | None
    replay_of: int | None


class DeliveryDetail(DeliveryRead):
    body: str


class DeliveryPage(CursorPage):
    items: list[DeliveryRead]
