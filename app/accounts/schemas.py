from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from app.accounts.models import Role
from app.core.schemas import ApiModel

AdminCode = Annotated[str, StringConstraints(pattern=r"^[0-9]{6}$")]


class ApiKeyCreate(ApiModel):
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    role: Role
    admin_codes: list[AdminCode] = Field(default_factory=list, max_length=500)
    facility_ids: list[Annotated[int, Field(ge=1, le=2**63 - 1)]] = Field(
        default_factory=list, max_length=10_000
    )
    rate_per_minute: int | None = Field(
        default=None, ge=1, le=1_000_000, description="this key's quota; the default if null"
    )


class ApiKeyRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    role: Role
    prefix: str = Field(description="the first characters of the key, to tell keys apart")
    admin_codes: list[str]
    facility_ids: list[int]
    rate_per_minute: int | None
    created_at: datetime
    created_by: str | None
    revoked_at: datetime | None


class ApiKeyCreated(ApiKeyRead):
    key: str = Field(description="the secret: shown this once, stored only as a hash")


class WhoAmI(BaseModel):
    key_id: int
    name: str
    role: Role
    admin_codes: list[str]
    facility_ids: list[int]
