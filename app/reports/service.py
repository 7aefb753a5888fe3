import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import true
from sqlalchemy.orm import Session

from app.accounts.errors import Forbidden
from app.accounts.principal import Principal
from app.audit import service as audit
from app.core.errors import InvalidInput
from app.core.pagination import decode_key_cursor, encode_key_cursor, keyset_page
from app.core.versioning import check_if_match
from app.db.base import bump_version
from app.db.session import insert
from app.divisions.service import known_level, known_level_or_none
from app.facilities import repository as facilities
from app.facilities.errors import FacilityNotFound
from app.facilities.scope import visible_clause
from app.facilities.service import ensure_live
from app.media import service as media
from app.reports import repository
from app.reports.errors import BadTransition, ReportNotFound
from app.reports.models import ProblemReport, ReportStatus
from app.reports.schemas import ReportCreate, ReportStats, ReportStatsGroup, ReportUpdate
from app.webhooks import outbox
from app.webhooks.models import Event

# Forward only: a resolved report is not reopened; a new report is filed instead, so
# the statistics count each problem once per occurrence.
TRANSITIONS = {
    ReportStatus.open: {ReportStatus.acknowledged, ReportStatus.resolved},
    ReportStatus.acknowledged: {ReportStatus.resolved},
    ReportStatus.resolved: set(),
}


def create_report(
    session: Session, facility_id: int, data: ReportCreate, *, principal: Principal
) -> ProblemReport:
    ensure_live(session, facility_id, principal=principal)
    if data.photo:
        media.check_exist(session, [data.photo], field="photo", indexed=False)
    report = insert(
        session,
        ProblemReport(
            facility_id=facility_id,
            reported_by=principal.actor,
            **data.model_dump(exclude={"location"}),
            location=data.location.to_ewkt() if data.location else None,
        ),
    )
    # The reporter's contact stays out of the audit trail: it is personal data that
    # history readers (gis) need not see.
    audit.record_write(
        session,
        principal.actor,
        "create",
        "problem_report",
        report.id,
        facility_id,
        before=None,
        after={"kind": data.kind, "has_photo": bool(data.photo)},
    )
    # Without the contact, as in the audit trail; a manager reads it with the report.
    outbox.enqueue(
        session,
        Event.report_created,
        {
            "id": report.id,
            "facility_id": facility_id,
            "kind": report.kind,
            "description": report.description,
            "has_photo": bool(report.photo),
            "created_at": report.created_at,
        },
        facility_id=facility_id,
    )
    return report


def get_report(session: Session, report_id: uuid.UUID, *, principal: Principal) -> ProblemReport:
    """A report about a work the caller may not see is answered as missing: its status page
    would name the work."""
    report = repository.get(session, report_id, visible=visible_clause(principal))
    if report is None:
        raise ReportNotFound(report_id=report_id)
    return report


def may_see_details(session: Session, principal: Principal, report: ProblemReport) -> bool:
    if principal.anonymous or principal.role not in ("admin", "manager"):
        return False
    codes = facilities.codes_of(session, report.facility_id, visible=true()) or ()
    return principal.covers(facility_id=report.facility_id, codes=codes)


def update_report(
    session: Session,
    report_id: uuid.UUID,
    data: ReportUpdate,
    *,
    principal: Principal,
    if_match: str | None,
) -> ProblemReport:
    report = repository.get(session, report_id, visible=visible_clause(principal), for_update=True)
    if report is None:
        raise ReportNotFound(report_id=report_id)
    if not may_see_details(session, principal, report):
        raise Forbidden(f"facility {report.facility_id} is outside this key's scope")
    check_if_match(if_match, report.version, required=True)
    if data.status == report.status and data.status != ReportStatus.resolved:
        return report  # acknowledging twice changes nothing
    if data.status not in TRANSITIONS[report.status]:
        raise BadTransition(f"status: a {report.status} report cannot become {data.status}")
    before = _snapshot(report)
    now = datetime.now(UTC)
    if data.status == ReportStatus.resolved:
        if not data.note:
            raise InvalidInput.on("note", "is required to resolve a report")
        report.resolved_at, report.resolved_by, report.resolution_note = (
            now,
            principal.actor,
            data.note,
        )
    else:
        report.acknowledged_at, report.acknowledged_by = now, principal.actor
        if data.note:
            report.resolution_note = data.note
    if data.status == ReportStatus.resolved and report.acknowledged_at is None:
        report.acknowledged_at, report.acknowledged_by = now, principal.actor
    report.status = data.status
    bump_version(report)
    report.touch()
    session.flush()
    session.refresh(report)
    audit.record_write(
        session,
        principal.actor,
        str(data.status),
        "problem_report",
        report.id,
        report.facility_id,
        before=before,
        after=_snapshot(report),
    )
    return report


def list_reports(
    session: Session,
    *,
    principal: Principal,
    admin_code: str | None,
    status: ReportStatus | None,
    facility_id: int | None,
    cursor: str | None,
    limit: int,
) -> tuple[list[ProblemReport], str | None]:
    level = known_level_or_none(session, admin_code)
    if (
        facility_id is not None
        and facilities.codes_of(session, facility_id, visible=visible_clause(principal)) is None
    ):
        raise FacilityNotFound(facility_id=facility_id)
    rows = repository.list_reports(
        session,
        principal=principal,
        level=level,
        admin_code=admin_code,
        status=status,
        facility_id=facility_id,
        after=decode_key_cursor(cursor, _report_key) if cursor else None,
        limit=limit + 1,
    )
    return keyset_page(rows, limit, _cursor)


def stats(session: Session, *, admin_code: str, principal: Principal) -> ReportStats:
    """Counts of reports about the works the caller may see (as every statistic)."""
    level = known_level(session, admin_code)
    rows = repository.stats(session, level=level, admin_code=admin_code, principal=principal)
    groups = [
        ReportStatsGroup(
            **{**row, "code": row["code"] or "unplaced", "by_kind": row["by_kind"] or {}}
        )
        for row in rows
    ]
    return ReportStats(admin_code=admin_code, total=sum(g.total for g in groups), groups=groups)


def _snapshot(report: ProblemReport) -> dict[str, Any]:
    return {
        "status": report.status,
        "acknowledged_at": report.acknowledged_at,
        "resolved_at": report.resolved_at,
        "resolution_note": report.resolution_note,
    }


def _cursor(report: ProblemReport) -> str:
    return encode_key_cursor([report.created_at.isoformat(), str(report.id)])


def _report_key(value: Any) -> tuple[datetime, uuid.UUID]:
    stamp, report_id = value
    return datetime.fromisoformat(stamp), uuid.UUID(report_id)
