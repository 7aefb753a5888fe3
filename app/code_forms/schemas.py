from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from app.facilities.schemas import RegistryCode

Pattern = Annotated[
    str,
    StringConstraints(min_length=3, max_length=200, pattern=r"^\^.*\$$"),
    Field(
        description="a regular expression (PostgreSQL's, as POSIX extended) anchored by ^ "
        "and $, matched against the whole code",
        examples=[r"^肥人防-?[0-9]{4}-[0-9]{3,4}$"],
    ),
]


class CodeFormWrite(BaseModel):
    model_config = ConfigDict(extra="forbid")

    pattern: Pattern
    example: Annotated[RegistryCode, Field(description="a code of this form; must match it")]
    note: Annotated[str, StringConstraints(min_length=1, max_length=500)] | None = Field(
        None, examples=["合肥市人防工程编号：肥人防 + 年份 + 序号"]
    )


class CodeFormRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    admin_code: str
    division: str = Field(description="the division's name")
    pattern: str
    example: str
    note: str | None


class CodeForms(BaseModel):
    national: str = Field(description="the national form, valid everywhere")
    forms: list[CodeFormRead] = Field(
        description="local forms, each valid for the works of its division (the most "
        "specific division with a form: district, else city, else province)"
    )
