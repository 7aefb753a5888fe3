import enum
from datetime import date
from typing import Annotated

from geoalchemy2 import Geometry
from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base, IdentityKey
from app.db.types import str_enum


class DivisionLevel(enum.StrEnum):
    province = "province"
    city = "city"
    district = "district"


# A division named by its code.
DivisionKey = Annotated[str, mapped_column(ForeignKey("division.code"))]


class Division(Base):
    """An administrative division (GB/T 2260). Codes change over the years, so they are data."""

    __tablename__ = "division"
    __table_args__ = (
        CheckConstraint("code ~ '^[0-9]{6}$'", name="code_six_digits"),
        CheckConstraint("valid_to IS NULL OR valid_to > valid_from", name="validity_ordered"),
        Index("ix_division_boundary", "boundary", postgresql_using="gist"),
    )

    code: Mapped[str] = mapped_column(String(6), primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    level: Mapped[DivisionLevel] = mapped_column(str_enum(DivisionLevel))
    parent_code: Mapped[DivisionKey | None] = mapped_column(index=True)
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)
    boundary = mapped_column(
        Geometry("MULTIPOLYGON", srid=4326, spatial_index=False), nullable=True
    )


class DivisionPart(Base):
    """A division's boundary cut into pieces of at most 256 vertices (ST_Subdivide), kept
    by a trigger on division (migration 0009). "Which division covers this point" asks
    these: a piece's box is tight and its test cheap, where a province outline has
    20,000 vertices (docs/performance.md)."""

    __tablename__ = "division_part"
    __table_args__ = (Index("ix_division_part_part", "part", postgresql_using="gist"),)

    id: Mapped[IdentityKey]
    code: Mapped[str] = mapped_column(ForeignKey("division.code", ondelete="CASCADE"), index=True)
    part = mapped_column(Geometry("POLYGON", srid=4326, spatial_index=False), nullable=False)
