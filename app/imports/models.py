import enum
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, ForeignKey, Integer, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base, IdentityKey, InsertedAt
from app.db.types import str_enum


class JobStatus(enum.StrEnum):
    queued = "queued"
    running = "running"
    succeeded = "succeeded"  # written (or, for a dry run, checked) without errors
    partial = "partial"  # --partial: the valid rows written, the others reported
    rejected = "rejected"  # bad rows or a bad file: nothing written
    failed = "failed"  # the job itself broke (a bug, the database went away)


class ImportJob(Base):
    """An import run in the background for POST /v1/imports."""

    __tablename__ = "import_job"

    id: Mapped[IdentityKey]
    status: Mapped[JobStatus] = mapped_column(str_enum(JobStatus))
    file_name: Mapped[str] = mapped_column(Text)
    file_bytes: Mapped[int] = mapped_column(BigInteger)
    options: Mapped[dict[str, Any]] = mapped_column(JSONB)
    actor: Mapped[str | None] = mapped_column(Text)
    stage: Mapped[str | None] = mapped_column(Text)
    rows_done: Mapped[int] = mapped_column(BigInteger, server_default="0")
    rows_total: Mapped[int | None] = mapped_column(BigInteger)
    summary: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    problem: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[InsertedAt]
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ImportJobError(Base):
    """One line of a job's error report."""

    __tablename__ = "import_job_error"

    id: Mapped[IdentityKey]
    job_id: Mapped[int] = mapped_column(ForeignKey("import_job.id", ondelete="CASCADE"), index=True)
    row_no: Mapped[int | None] = mapped_column(Integer)
    field: Mapped[str] = mapped_column(Text)
    value: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text)
