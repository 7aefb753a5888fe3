from datetime import date, datetime
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    create_model,
    field_validator,
)
from pydantic_core import PydanticCustomError

from app.core import dates


class ApiModel(BaseModel):
    """Base for request bodies: unknown fields are an error, not silently dropped."""

    model_config = ConfigDict(extra="forbid")


def _day(value: date) -> date:
    if not dates.day_in_range(value):
        raise PydanticCustomError("date_range", dates.DAY_MESSAGE)
    return value


def _instant(value: datetime) -> datetime:
    if not dates.instant_in_range(value):
        raise PydanticCustomError("datetime_range", dates.INSTANT_MESSAGE)
    return value


# Every date and instant a request gives (see core.dates for the range and why).
Day = Annotated[date, AfterValidator(_day)]
Instant = Annotated[AwareDatetime, AfterValidator(_instant)]


def partial_model(model: type[ApiModel], *, name: str, required: set[str]) -> type[ApiModel]:
    """The PATCH twin of a create model: every field optional; `required` ones may not be null."""
    fields: dict[str, Any] = {
        field_name: (info.annotation | None, None)
        for field_name, info in model.model_fields.items()
    }

    def not_null(cls: type, value: Any) -> Any:
        if value is None:
            raise ValueError("may not be null")
        return value

    validators = {"_not_null": field_validator(*required)(not_null)} if required else {}
    return create_model(name, __base__=ApiModel, __validators__=validators, **fields)
