import enum
from typing import Annotated, Any

from sqlalchemy import Enum, text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import MappedColumn, mapped_column
from sqlalchemy.types import TypeEngine


def str_enum(enum_class: type[enum.StrEnum]) -> Enum:
    """A text column with a CHECK on the enum's values: easier to extend than a PG enum type."""
    return Enum(
        enum_class,
        native_enum=False,
        create_constraint=True,
        length=32,
        name=enum_class.__name__.lower(),
        values_callable=lambda members: [m.value for m in members],
    )


def empty_array(item: TypeEngine) -> MappedColumn[Any]:
    """An array of `item` that is empty, never null, when a row is written without it."""
    return mapped_column(ARRAY(item), server_default=text("'{}'"))


# A JSON object that is {}, never null, when a row is written without it.
JsonObject = Annotated[dict[str, Any], mapped_column(JSONB, server_default=text("'{}'::jsonb"))]
