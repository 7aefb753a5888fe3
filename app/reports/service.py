import base64
import binascii
import json
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import true
from sqlalchemy.orm import Session

from app.accounts.errors import Forbidden
from app.accounts.principal import Principal
from app.audit import service as audit
from app.core import jsonbody
from app.core.errors import BadRequest, InvalidInput
from app.core.versioning import check_if_match
from app.divisions.service import known_level
from app.facilities import repository as facilities
from app.facilities.errors import FacilityNotFound
from app.facilities.service import ensure_live
from app.media import service as media
from app.reports import repository
from app.reports.errors import BadTransition, ReportNotFound
from app.reports.models import ProblemReport, ReportStatus
from app.reports.schemas import ReportCreate, ReportStats, ReportStatsGroup, ReportUpdate

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
    report = ProblemReport(
        facility_id=facility_id,
        reported_by=principal.actor,
        **data.model_dump(),
    )
    session.add(report)
    session.flush()
    session.refresh(report)
    audit.record(
        session,
        actor=principal.actor,
        action="create",
        entity="problem_report",
        entity_id=str(report.id),
        facility_id=facility_id,
        # The reporter's contact stays out of the audit trail: it is personal data that
        # history readers (gis) need not see.
        changes=audit.diff(None, {"kind": data.kind, "has_photo": bool(data.photo)}),
    )
    return report


def get_report(session: Session, report_id: uuid.UUID, *, principal: Principal) -> ProblemReport:
    """A report about a work the caller may not see is answered as missing: its status page
    would name the work."""
    report = repository.get(session, report_id, visible=principal.visible_clause())
    if report is None:
        raise ReportNotFound(report_id)
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
    report = repository.get(session, report_id, visible=principal.visible_clause(), for_update=True)
    if report is None:
        raise ReportNotFound(report_id)
    if not may_see_details(session, principal, report):
        raise Forbidden(f"facility {report.facility_id} is outside this key's scope")
    check_if_match(if_match, report.version, required=True)
    if data.status == report.status and data.status != ReportStatus.resolved:
        return report  # acknowledging twice changes nothing
    if data.status not in TRANSITIONS[report.status]:
        raise BadTransition(f"status: a {report.status} report cannot become {data.status}")
    before = _image(report)
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
    report.version = report.version + 1
    report.touch()
    session.flush()
    session.refresh(report)
    audit.record(
        session,
        actor=principal.actor,
        action=str(data.status),
        entity="problem_report",
        entity_id=str(report.id),
        facility_id=report.facility_id,
        changes=audit.diff(before, _image(report)),
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
    level = known_level(session, admin_code) if admin_code else None
    if (
        facility_id is not None
        and facilities.codes_of(session, facility_id, visible=principal.visible_clause()) is None
    ):
        raise FacilityNotFound(facility_id)
    rows = repository.list_reports(
        session,
        principal=principal,
        level=level,
        admin_code=admin_code,
        status=status,
        facility_id=facility_id,
        after=_decode(cursor) if cursor else None,
        limit=limit + 1,
    )
    page = rows[:limit]
    return page, (_encode(page[-1]) if len(rows) > limit else None)


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


def _image(report: ProblemReport) -> dict[str, Any]:
    return {
        "status": report.status,
        "acknowledged_at": report.acknowledged_at,
        "resolved_at": report.resolved_at,
        "resolution_note": report.resolution_note,
    }


def _encode(report: ProblemReport) -> str:
    raw = json.dumps([report.created_at.isoformat(), str(report.id)]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        stamp, report_id = jsonbody.loads(
            base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)), what="cursor"
        )
        return datetime.fromisoformat(stamp), uuid.UUID(report_id)
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError) as exc:
        raise BadRequest("cursor: not a cursor this API issued") from exc
