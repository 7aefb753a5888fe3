import csv
import io
import os
import tempfile
from collections.abc import AsyncIterator, Generator
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import BackgroundTasks, FastAPI, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from app.accounts.dependencies import StaffWriter, role_router
from app.accounts.models import Role
from app.accounts.principal import Principal
from app.core import jsonbody
from app.core.errors import BadRequest, NotFound, problem_responses
from app.core.geo import CoordSys
from app.core.schemas import from_attributes
from app.db.session import AdmittedStream, SessionDep, admitted, bounded
from app.imports import fields, jobs, readers, service, tables
from app.imports import report as reporting
from app.imports.models import ImportJob, JobStatus
from app.imports.readers import FileFormat
from app.imports.tables import Table

UPLOAD_SUFFIXES = {
    FileFormat.csv: ".csv",
    FileFormat.xlsx: ".xlsx",
    FileFormat.geojson: ".geojson",
    FileFormat.ndjson: ".ndjson",
    FileFormat.gpkg: ".gpkg",
    FileFormat.shp: ".zip",
    FileFormat.fgb: ".fgb",
}


JobId = Annotated[int, PathParam(ge=1, le=2**63 - 1, description="import job id")]


IMPORTS_PATH = "/v1/imports"  # import files have their own body limit (see main.py)


@asynccontextmanager
async def _fail_orphaned_jobs(app: FastAPI) -> AsyncIterator[None]:
    """At start-up, after the app's own lifespan has made its sessions: jobs left queued
    or running by a process that died are failed, with the reason."""

    def sweep() -> None:
        with app.state.sessionmaker() as session:
            jobs.fail_orphaned_jobs(session)
            session.commit()

    await run_in_threadpool(sweep)
    yield


imports_router = role_router(IMPORTS_PATH, tag="imports", lifespan=_fail_orphaned_jobs)


class ImportJobRead(BaseModel):
    id: int
    status: JobStatus
    file_name: str
    file_bytes: int
    options: dict[str, Any]
    stage: str | None
    rows_done: int
    rows_total: int | None
    progress: float | None = Field(description="share of rows read, 0 to 1, while reading")
    summary: dict[str, Any] | None
    problem: str | None
    error_count: int
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    links: list[dict[str, str]]


def _to_job_read(request: Request, session: Session, job: ImportJob) -> ImportJobRead:
    progress = None
    if job.rows_total:
        progress = min(job.rows_done / job.rows_total, 1.0)
    if job.status in (JobStatus.succeeded, JobStatus.partial, JobStatus.rejected):
        progress = 1.0
    return from_attributes(
        ImportJobRead,
        job,
        progress=progress,
        error_count=jobs.error_count(session, job.id),
        links=[
            {"rel": "self", "href": str(request.url_for("get_import", job_id=job.id))},
            {
                "rel": "errors",
                "href": str(request.url_for("get_import_errors", job_id=job.id)),
                "type": "text/csv",
            },
        ],
    )


@imports_router.post(
    "",
    status_code=202,
    response_model=ImportJobRead,
    responses=problem_responses(400, 413),
    openapi_extra={
        "requestBody": {
            "required": True,
            "description": "the file itself as the body (not a multipart form)",
            "content": {
                "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}
            },
        }
    },
)
async def create_import(
    request: Request,
    background: BackgroundTasks,
    principal: StaffWriter,
    filename: Annotated[
        str,
        Query(
            min_length=1,
            max_length=200,
            pattern=r"^[^\x00-\x1f/\\]+$",
            description="the file's name; its suffix tells the format",
        ),
    ],
    table: Annotated[
        Table,
        Query(
            description="what the rows are: facilities, or the uses, signs or maintenance "
            "records of facilities named by registry code"
        ),
    ] = Table.facilities,
    format: FileFormat | None = None,
    coordsys: CoordSys = CoordSys.wgs84,
    encoding: Annotated[
        str | None, Query(max_length=40, pattern=r"^[A-Za-z0-9_.:-]+$", description="e.g. gbk")
    ] = None,
    layer: Annotated[
        str | None, Query(max_length=200, pattern=r"^[^\x00-\x1f]+$", description="layer or sheet")
    ] = None,
    header_row: Annotated[
        int | None,
        Query(ge=1, le=1000, description="XLSX: the header's row; found below title rows if unset"),
    ] = None,
    mapping: Annotated[
        str | None,
        Query(
            max_length=20_000,
            description="JSON object of header -> field name over the built-in mapping, as "
            'the file given to `rf import --mapping`; "" ignores a column. '
            'E.g. {"区划代码": "admin_code", "备注": ""}',
        ),
    ] = None,
    partial: bool = False,
    dry_run: bool = False,
) -> ImportJobRead:
    """Run `rf import` in the background: 202 with the job, whose status resource shows
    its progress, the outcome and the error report. Admins, and managers within their
    scope (a row outside it is an error of the report). The body is the file
    itself; its name (for the format) comes in `filename`."""
    file_format = readers.detect_format(Path(filename), format)
    if encoding is not None:
        readers.check_encoding(encoding)
    options = service.ImportOptions(
        table=table,
        file_format=file_format,
        encoding=encoding,
        coordsys=coordsys,
        mapping=_mapping(mapping, table),
        layer=layer,
        header_row=header_row,
        partial=partial,
        **_scope(principal),
        dry_run=dry_run,
    )
    settings = request.app.state.settings
    folder = Path(settings.import_dir or tempfile.gettempdir())
    folder.mkdir(parents=True, exist_ok=True)
    if file_format == FileFormat.shp and Path(filename).suffix.lower() != ".zip":
        raise BadRequest("a Shapefile is several files: send them zipped, as NAME.zip")
    # The stored copy's suffix comes from the format, never from the caller.
    suffix = UPLOAD_SUFFIXES[file_format]
    handle, name = tempfile.mkstemp(prefix="rf-import-", suffix=suffix, dir=folder)
    size = 0
    try:
        with os.fdopen(handle, "wb") as out:
            async for chunk in request.stream():
                size += len(chunk)
                out.write(chunk)
    except BaseException:  # over the size limit, or the client went away
        Path(name).unlink(missing_ok=True)
        raise
    if size == 0:
        Path(name).unlink(missing_ok=True)
        raise BadRequest("the body is empty: send the file itself as the request body")
    # The job runs unbound after the answer, for as long as its file takes; the request's
    # own statements are bound as any request's.
    sessions = request.app.state.sessionmaker
    bound = request.app.state.settings.statement_timeout_s

    def create() -> ImportJobRead:
        with bounded(sessions, bound) as session:
            job = jobs.create_job(
                session,
                file_name=Path(filename).name,
                file_bytes=size,
                options=options,
                actor=principal.actor,
            )
            session.commit()
            return _to_job_read(request, session, job)

    try:
        async with admitted(request.app.state):
            created = await run_in_threadpool(create)
    except BaseException:  # no turn in time (503), the database away, or the client gone
        Path(name).unlink(missing_ok=True)
        raise
    background.add_task(jobs.run_job, sessions, created.id, Path(name), options)
    return created


def _mapping(given: str | None, table: Table) -> dict[str, str] | None:
    if given is None:
        return None
    try:
        extra = jsonbody.loads(given, what="mapping")
    except ValueError as exc:
        raise BadRequest(f"mapping: {exc}") from exc
    return fields.check_mapping(extra, source="mapping", known=tables.known_fields(table))


@imports_router.get("/{job_id}", response_model=ImportJobRead, responses=problem_responses(404))
def get_import(
    request: Request, session: SessionDep, principal: StaffWriter, job_id: JobId
) -> ImportJobRead:
    return _to_job_read(request, session, _own_job(session, principal, job_id))


@imports_router.get(
    "/{job_id}/errors",
    responses={
        200: {
            "description": "the error report: row, field, value, reason",
            "content": {"text/csv": {}},
        },
        **problem_responses(404),
    },
)
def get_import_errors(
    request: Request, session: SessionDep, principal: StaffWriter, job_id: JobId
) -> StreamingResponse:
    job = _own_job(session, principal, job_id)
    columns = (job.summary or {}).get("columns") or {}
    # Negotiated by app.core.i18n.Localize from Accept-Language.
    language = getattr(request.state, "language", request.app.state.settings.default_language)
    return AdmittedStream(
        request.app.state,
        _report(request, job_id, columns, language),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="import-{job_id}.errors.csv"',
            "Content-Language": language,
            "Vary": "Accept-Language",
        },
    )


def _report(
    request: Request, job_id: int, columns: dict[str, str], language: str
) -> Generator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    # Streamed as an export is, a batch of rows per statement: the export's bound.
    bound = request.app.state.settings.export_statement_timeout_s
    with bounded(request.app.state.sessionmaker, bound) as session:
        errors = jobs.job_errors(session, job_id)
        lines = reporting.lines(errors, columns=columns, language=language)
        writer.writerow(next(lines))
        for index, line in enumerate(lines):
            writer.writerow(line)
            if index % 5000 == 4999:
                yield buffer.getvalue().encode()
                buffer.seek(0)
                buffer.truncate()
    yield buffer.getvalue().encode()


def _scope(principal: Principal) -> dict[str, Any]:
    """A manager imports within its scope; an admin anywhere."""
    if principal.role == Role.admin:
        return {}
    return {
        "scope_admin_codes": list(principal.admin_codes),
        "scope_facility_ids": list(principal.facility_ids),
    }


def _own_job(session: Session, principal: Principal, job_id: int) -> ImportJob:
    """A manager sees the jobs its key started; another's is as missing as none."""
    job = jobs.get_job(session, job_id)
    if principal.role != Role.admin and job.actor != principal.actor:
        raise NotFound(f"import job {job_id} does not exist")
    return job
