import enum
from datetime import date

from sqlalchemy import (
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    SmallInteger,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.core.dates import day_range_sql
from app.db.base import Base, IdentityKey, InsertedAt
from app.db.types import str_enum
from app.facilities.models import FacilityKey


class Discipline(enum.StrEnum):
    """The six disciplines of the Zhejiang 2023 maintenance standard."""

    civil_works = "civil_works"
    protective_equipment = "protective_equipment"
    ventilation = "ventilation"
    water_drainage_fuel = "water_drainage_fuel"
    electrical = "electrical"
    information_systems = "information_systems"


class RecordKind(enum.StrEnum):
    inspection = "inspection"
    repair = "repair"
    equipment_test = "equipment_test"
    drill = "drill"


class CheckResult(enum.StrEnum):
    ok = "ok"
    defect = "defect"
    not_checked = "not_checked"


class Severity(enum.StrEnum):
    none = "none"
    minor = "minor"
    major = "major"
    serious = "serious"  # stays open until a repair record closes it


class MaintenanceItem(Base):
    """The catalogue: what is checked, in which discipline, and how often."""

    __tablename__ = "maintenance_item"
    __table_args__ = (CheckConstraint("interval_months >= 1", name="interval_positive"),)

    code: Mapped[str] = mapped_column(Text, primary_key=True)
    discipline: Mapped[Discipline] = mapped_column(str_enum(Discipline))
    name: Mapped[str] = mapped_column(Text)
    name_zh: Mapped[str] = mapped_column(Text)
    interval_months: Mapped[int] = mapped_column(SmallInteger)
    description: Mapped[str | None] = mapped_column(Text)


class MaintenanceRecord(Base):
    """Append-only (a trigger refuses UPDATE and DELETE): a correction is a new record
    naming the record it corrects, which then no longer counts."""

    __tablename__ = "maintenance_record"
    __table_args__ = (
        Index("ix_maintenance_record_facility_id_performed_on", "facility_id", "performed_on"),
        CheckConstraint(day_range_sql("performed_on"), name="performed_on_range"),
    )

    id: Mapped[IdentityKey]
    facility_id: Mapped[FacilityKey]
    kind: Mapped[RecordKind] = mapped_column(str_enum(RecordKind))
    performed_on: Mapped[date] = mapped_column(Date)
    performed_by: Mapped[str] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)
    corrects_id: Mapped[int | None] = mapped_column(
        ForeignKey("maintenance_record.id"), unique=True
    )
    recorded_by: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[InsertedAt]


class MaintenanceCheck(Base):
    """One item checked within a record, with its result and finding."""

    __tablename__ = "maintenance_check"
    __table_args__ = (
        CheckConstraint("result <> 'ok' OR severity = 'none'", name="ok_has_no_finding"),
        Index("ix_maintenance_check_record_id", "record_id"),
        Index("ix_maintenance_check_closes_id", "closes_id"),
    )

    id: Mapped[IdentityKey]
    record_id: Mapped[int] = mapped_column(ForeignKey("maintenance_record.id", ondelete="CASCADE"))
    item_code: Mapped[str] = mapped_column(ForeignKey("maintenance_item.code"))
    result: Mapped[CheckResult] = mapped_column(str_enum(CheckResult))
    severity: Mapped[Severity] = mapped_column(str_enum(Severity))
    finding: Mapped[str | None] = mapped_column(Text)
    # On a repair record: the serious finding (a check of an earlier record) it closes.
    closes_id: Mapped[int | None] = mapped_column(ForeignKey("maintenance_check.id"))
