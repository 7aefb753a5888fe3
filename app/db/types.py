import enum

from sqlalchemy import Enum


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
