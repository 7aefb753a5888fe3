"""Messages with named values, written once and rendered two ways: by Python for the one
record a request sends, and as SQL for every row of an import's staging tables."""

import string
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Message:
    template: str  # str.format fields name the values: "{usable_area} m² exceeds ..."

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(name for _, name, _, _ in string.Formatter().parse(self.template) if name)

    def __call__(self, **values: Any) -> str:
        return self.template.format(**values)

    def sql(self, **values: str) -> str:
        """The message as a SQL text expression: each field is replaced by the SQL
        expression given for it; the text around them is quoted."""
        parts = []
        for literal, name, _, _ in string.Formatter().parse(self.template):
            if literal:
                parts.append("'" + literal.replace("'", "''") + "'")
            if name:
                parts.append(values[name])
        return " || ".join(parts)
