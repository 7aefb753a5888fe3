from typing import Any

from pydantic import BaseModel, ConfigDict, create_model, field_validator


class ApiModel(BaseModel):
    """Base for request bodies: unknown fields are an error, not silently dropped."""

    model_config = ConfigDict(extra="forbid")


def partial_model(
    model: type[ApiModel], *, name: str, required: set[str], exclude: frozenset[str] = frozenset()
) -> type[ApiModel]:
    """The PATCH twin of a create model: every field optional; `required` ones may not be
    null; `exclude`d ones are set at creation only (or by a write of their own)."""
    fields: dict[str, Any] = {
        field_name: (info.annotation | None, None)
        for field_name, info in model.model_fields.items()
        if field_name not in exclude
    }

    def not_null(cls: type, value: Any) -> Any:
        if value is None:
            raise ValueError("may not be null")
        return value

    validators = {"_not_null": field_validator(*required)(not_null)} if required else {}
    return create_model(name, __base__=ApiModel, __validators__=validators, **fields)
