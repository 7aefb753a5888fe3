"""Import jobs whose process died: failed at start-up, never left running."""

from fastapi.testclient import TestClient
from sqlalchemy import Engine, insert, select, text
from sqlalchemy.orm import Session, sessionmaker

from app.imports import jobs, service
from app.imports.models import ImportJob, JobStatus
from app.main import create_app


def add_job(session: Session, status: JobStatus) -> int:
    job = ImportJob(status=status, file_name="f.csv", file_bytes=10, options={})
    session.add(job)
    session.flush()
    return job.id


def test_jobs_no_process_holds_are_failed_with_the_reason(session, engine: Engine):
    queued, running, elsewhere, done = (
        add_job(session, status)
        for status in (JobStatus.queued, JobStatus.running, JobStatus.running, JobStatus.succeeded)
    )
    # Another live process running its job holds the job's lock.
    with engine.connect() as other:
        other.execute(text("SELECT pg_advisory_lock(:id)"), {"id": elsewhere})
        assert jobs.fail_orphaned_jobs(session) == 2
        other.execute(text("SELECT pg_advisory_unlock(:id)"), {"id": elsewhere})
    found = {
        job.id: (job.status, job.problem, job.finished_at is not None)
        for job in session.scalars(
            select(ImportJob)
            .where(ImportJob.id.in_((queued, running, elsewhere, done)))
            .execution_options(populate_existing=True)
        )
    }
    assert found == {
        queued: (JobStatus.failed, jobs.ORPHANED, True),
        running: (JobStatus.failed, jobs.ORPHANED, True),
        elsewhere: (JobStatus.running, None, False),
        done: (JobStatus.succeeded, None, False),
    }


def test_a_job_failed_as_orphaned_never_starts(connection, session, tmp_path):
    job_id = add_job(session, JobStatus.queued)
    jobs.fail_orphaned_jobs(session)
    upload = tmp_path / "f.csv"
    upload.write_text("code\nRF-ORPHAN-1\n")
    sessions = sessionmaker(connection, join_transaction_mode="create_savepoint")
    jobs.run_job(sessions, job_id, upload, service.ImportOptions())
    job = session.get(ImportJob, job_id, populate_existing=True)
    assert (job.status, job.problem, job.started_at) == (JobStatus.failed, jobs.ORPHANED, None)
    assert not upload.exists()


def test_a_restarted_server_fails_the_jobs_it_left(settings, engine: Engine):
    with engine.begin() as connection:
        job_id = connection.execute(
            insert(ImportJob)
            .values(status=JobStatus.running, file_name="f.csv", file_bytes=10, options={})
            .returning(ImportJob.id)
        ).scalar_one()
    try:
        with TestClient(create_app(settings)) as client:
            assert client.get("/healthz").status_code == 200
        with engine.connect() as connection:
            status, problem = connection.execute(
                select(ImportJob.status, ImportJob.problem).where(ImportJob.id == job_id)
            ).one()
        assert (status, problem) == (JobStatus.failed, jobs.ORPHANED)
    finally:
        with engine.begin() as connection:
            connection.execute(text("DELETE FROM import_job WHERE id = :id"), {"id": job_id})
