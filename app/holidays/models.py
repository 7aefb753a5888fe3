import enum
from datetime import date

from sqlalchemy import CheckConstraint, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base, Timestamped
from app.db.types import str_enum


class Override(enum.StrEnum):
    holiday = "holiday"
    workday = "workday"


class CalendarDay(Timestamped, Base):
    """A day an admin declares a public holiday or a working day, over the State Council's
    calendar the chinese-calendar package carries: local holidays, and next year's days
    before a package release has them."""

    __tablename__ = "calendar_day"
    __table_args__ = (CheckConstraint("length(name) BETWEEN 1 AND 100", name="name_length"),)

    day: Mapped[date] = mapped_column(primary_key=True)
    kind: Mapped[Override] = mapped_column(str_enum(Override))
    name: Mapped[str] = mapped_column(Text)
    updated_by: Mapped[str | None] = mapped_column(Text)
