import enum
import uuid
from datetime import datetime

from geoalchemy2 import Geometry
from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
    Uuid,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base, Timestamped, Version
from app.db.types import str_enum
from app.facilities.models import FacilityKey


class ReportKind(enum.StrEnum):
    locked = "locked"  # locked when it should be open: the commonest complaint
    closed = "closed"
    missing_sign = "missing_sign"
    damaged_sign = "damaged_sign"
    wrong_location = "wrong_location"
    bad_condition = "bad_condition"
    other = "other"


class ReportStatus(enum.StrEnum):
    open = "open"
    acknowledged = "acknowledged"
    resolved = "resolved"


class ProblemReport(Timestamped, Base):
    __tablename__ = "problem_report"
    __table_args__ = (
        CheckConstraint(
            "status <> 'resolved' OR (resolved_at IS NOT NULL AND resolution_note IS NOT NULL)",
            name="resolved_has_note",
        ),
        Index("ix_problem_report_facility_id_status", "facility_id", "status"),
    )

    # A random id, not a serial: the public reads a report's status by id, and must not
    # be able to walk everyone's reports.
    id: Mapped[uuid.UUID] = mapped_column(
        Uuid, primary_key=True, server_default=text("gen_random_uuid()")
    )
    facility_id: Mapped[FacilityKey]
    kind: Mapped[ReportKind] = mapped_column(str_enum(ReportKind))
    description: Mapped[str | None] = mapped_column(Text)
    contact: Mapped[str | None] = mapped_column(Text)
    photo: Mapped[str | None] = mapped_column(String(64), ForeignKey("photo.sha256"))
    # Where the reporter points: the real entrance of a wrong location, a missing sign.
    location = mapped_column(Geometry("POINT", srid=4326, spatial_index=False), nullable=True)
    status: Mapped[ReportStatus] = mapped_column(
        str_enum(ReportStatus), server_default=ReportStatus.open.value
    )
    acknowledged_at: Mapped[datetime | None]
    acknowledged_by: Mapped[str | None] = mapped_column(Text)
    resolved_at: Mapped[datetime | None]
    resolved_by: Mapped[str | None] = mapped_column(Text)
    resolution_note: Mapped[str | None] = mapped_column(Text)
    reported_by: Mapped[str | None] = mapped_column(Text)
    version: Mapped[Version]

    def touch(self) -> None:
        self.updated_at = func.now()
