"""Import jobs for POST /v1/imports: the CLI's import, run after the response, with its
progress and error report kept in the database for the status resource.

A job runs in the process that accepted the upload (FastAPI background task), reading
the file from `Settings.import_dir`; a deployment with several API processes serves the
status from any of them, since everything a poller reads is in the database.

While it runs, a job holds a PostgreSQL advisory lock keyed by its id (the only other
advisory lock, population_reach's, has two keys, a space of its own). A process that dies lets go of it with its
connections, so a queued or running job whose lock is free has no process left to
finish it: `fail_orphaned_jobs`, run at start-up, marks such jobs failed."""

import time
from collections.abc import Iterator
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, insert, select, text, update
from sqlalchemy.orm import Session, sessionmaker

from app.core.errors import NotFound
from app.imports import service
from app.imports.models import ImportJob, ImportJobError, JobStatus

# Pollers see progress this fresh; more often would cost the import its speed.
_PROGRESS_EVERY_S = 1.0
ORPHANED = (
    "the server process running this import stopped before it finished (a restart or a "
    "crash); nothing was written: upload the file again"
)


def create_job(
    session: Session,
    *,
    file_name: str,
    file_bytes: int,
    options: service.ImportOptions,
    actor: str | None,
) -> ImportJob:
    job = ImportJob(
        status=JobStatus.queued,
        file_name=file_name,
        file_bytes=file_bytes,
        options=_options_json(options),
        actor=actor,
    )
    session.add(job)
    session.flush()
    return job


def get_job(session: Session, job_id: int) -> ImportJob:
    job = session.get(ImportJob, job_id)
    if job is None:
        raise NotFound(f"import job {job_id} does not exist")
    return job


def error_count(session: Session, job_id: int) -> int:
    return int(
        session.scalar(
            select(func.count()).select_from(ImportJobError).where(ImportJobError.job_id == job_id)
        )
        or 0
    )


def job_errors(session: Session, job_id: int) -> Iterator[tuple]:
    query = (
        select(
            ImportJobError.row_no, ImportJobError.field, ImportJobError.value, ImportJobError.reason
        )
        .where(ImportJobError.job_id == job_id)
        .order_by(ImportJobError.id)
        .execution_options(yield_per=10_000)
    )
    for row in session.execute(query):
        yield tuple(row)


class _JobProgress:
    def __init__(self, sessions: sessionmaker, job_id: int) -> None:
        self.sessions = sessions
        self.job_id = job_id
        self.done = 0
        self.last = 0.0

    def stage(self, name: str, total: int | None) -> None:
        self._save(stage=name, rows_total=total) if total is not None else self._save(stage=name)

    def advance(self, rows: int) -> None:
        self.done += rows
        if time.monotonic() - self.last >= _PROGRESS_EVERY_S:
            self._save(rows_done=self.done)

    def _save(self, **values: object) -> None:
        # Its own short transaction, so pollers see it while the import's is still open.
        self.last = time.monotonic()
        with self.sessions() as session:
            session.execute(update(ImportJob).where(ImportJob.id == self.job_id).values(**values))
            session.commit()


def run_job(
    sessions: sessionmaker, job_id: int, path: Path, options: service.ImportOptions
) -> None:
    progress = _JobProgress(sessions, job_id)
    name = path.name
    try:
        with sessions() as session:
            # Held until this transaction ends, which it does with the job's outcome.
            session.execute(select(func.pg_advisory_xact_lock(job_id)))
            claimed = _claim(sessions, job_id)
            if claimed is None:
                return
            name = claimed.file_name
            result = service.run_import(
                session, path, options, actor=claimed.actor, progress=progress, job_id=job_id
            )
            # Nothing was written unless it may stay (dry runs use a savepoint), so this
            # transaction always commits: the report and the status with it.
            session.execute(
                insert(ImportJobError).from_select(
                    ["job_id", "row_no", "field", "value", "reason"],
                    text(
                        "SELECT CAST(:job AS bigint), row_no, field, value, "
                        "replace(replace(reason, :full, :name), :stored, :name) "
                        "FROM import_error ORDER BY row_no NULLS FIRST, field, reason"
                    )
                    .bindparams(job=job_id, full=str(path), stored=path.name, name=name)
                    .columns(),
                )
            )
            session.execute(
                update(ImportJob)
                .where(ImportJob.id == job_id)
                .values(
                    status=_status(result),
                    stage="done",
                    rows_done=result.rows,
                    summary={**result.summary(), "file": name},
                    problem=_named(result.problem, path, name),
                    finished_at=datetime.now(UTC),
                )
            )
            session.commit()
    except Exception as exc:  # the job must end in a state a poller can read
        with sessions() as session:
            session.execute(
                update(ImportJob)
                .where(ImportJob.id == job_id)
                .values(
                    status=JobStatus.failed,
                    problem=_named(f"{type(exc).__name__}: {exc}".splitlines()[0], path, name),
                    finished_at=datetime.now(UTC),
                )
            )
            session.commit()
    finally:
        path.unlink(missing_ok=True)


def _named(message: str | None, path: Path, name: str) -> str | None:
    """A message as the caller reads it: the file by the name it was uploaded under, not
    the one it waits under on the server (nor that folder)."""
    if message is None:
        return None
    return message.replace(str(path), name).replace(path.name, name)


def _claim(sessions: sessionmaker, job_id: int) -> ImportJob | None:
    """The job, now running; None when it is no longer queued (a restarted server has
    failed it as orphaned while it waited)."""
    with sessions() as session:
        job = session.scalar(
            update(ImportJob)
            .where(ImportJob.id == job_id, ImportJob.status == JobStatus.queued)
            .values(status=JobStatus.running, started_at=datetime.now(UTC))
            .returning(ImportJob)
        )
        session.commit()
        return job


def fail_orphaned_jobs(session: Session) -> int:
    """Marks failed, with the reason, the queued and running jobs that no process runs:
    those whose lock nobody holds. Returns how many."""
    result = session.execute(
        update(ImportJob)
        .where(
            ImportJob.status.in_((JobStatus.queued, JobStatus.running)),
            func.pg_try_advisory_xact_lock(ImportJob.id),
        )
        .values(status=JobStatus.failed, problem=ORPHANED, finished_at=func.now())
    )
    return result.rowcount


def _status(result: service.ImportResult) -> JobStatus:
    if result.problem or (result.errors and not result.partial):
        return JobStatus.rejected
    return JobStatus.partial if result.errors else JobStatus.succeeded


def _options_json(options: service.ImportOptions) -> dict:
    return {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(options).items()}
