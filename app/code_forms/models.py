from sqlalchemy import CheckConstraint, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base, Timestamped
from app.divisions.models import DivisionKey


class RegistryCodeForm(Timestamped, Base):
    """A division's local form of registry codes, as its plaques and ledgers carry them
    (肥人防2019-012), valid there besides the national form (facilities.rules.REGISTRY_CODE).
    Data, not code: provinces and cities set their own numbering, and change it."""

    __tablename__ = "registry_code_form"
    __table_args__ = (
        CheckConstraint("length(pattern) BETWEEN 3 AND 200", name="pattern_length"),
        CheckConstraint("example ~ pattern", name="example_matches"),
    )

    admin_code: Mapped[DivisionKey] = mapped_column(primary_key=True)
    pattern: Mapped[str] = mapped_column(Text)  # a PostgreSQL regular expression, ^...$
    example: Mapped[str] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)
    updated_by: Mapped[str | None] = mapped_column(Text)
