import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, select, text
from sqlalchemy.orm import Session, aliased

from app.accounts.principal import Principal
from app.divisions.models import DivisionLevel
from app.divisions.repository import BELOW_COLUMN, CODE_COLUMN
from app.facilities.models import Facility
from app.facilities.scope import scope_clause, visible_sql
from app.reports.models import ProblemReport, ReportStatus


def get(
    session: Session,
    report_id: uuid.UUID,
    *,
    visible: ColumnElement[bool],
    for_update: bool = False,
) -> ProblemReport | None:
    """The report, if it is about one of the `visible` works."""
    query = (
        select(ProblemReport)
        .join(Facility, Facility.id == ProblemReport.facility_id)
        .where(ProblemReport.id == report_id, visible)
    )
    return session.scalar(query.with_for_update(of=ProblemReport) if for_update else query)


def list_reports(
    session: Session,
    *,
    principal: Principal,
    level: DivisionLevel | None,
    admin_code: str | None,
    status: ReportStatus | None,
    facility_id: int | None,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[ProblemReport]:
    """Newest first, keyset on (created_at, id)."""
    query = (
        select(ProblemReport)
        .join(Facility, Facility.id == ProblemReport.facility_id)
        .where(scope_clause(principal))
    )
    if level is not None:
        query = query.where(getattr(Facility, CODE_COLUMN[level]) == admin_code)
    if status is not None:
        query = query.where(ProblemReport.status == status)
    if facility_id is not None:
        query = query.where(ProblemReport.facility_id == facility_id)
    if after is not None:
        query = query.where(
            (ProblemReport.created_at, ProblemReport.id) < after  # type: ignore[operator]
        )
    query = query.order_by(ProblemReport.created_at.desc(), ProblemReport.id.desc()).limit(limit)
    return list(session.scalars(query))


def stats(
    session: Session, *, level: DivisionLevel, admin_code: str, principal: Principal
) -> list[dict[str, Any]]:
    group = BELOW_COLUMN[level]
    visible, visible_params = visible_sql(principal, aliased(Facility, name="f"))
    sql = f"""
WITH r AS (
    SELECT f.{group} AS code, p.status, p.kind
    FROM problem_report p JOIN facility f ON f.id = p.facility_id
    WHERE f.{CODE_COLUMN[level]} = :admin_code AND {visible}
), counts AS (
    SELECT code, count(*) AS total,
        count(*) FILTER (WHERE status = 'open') AS open,
        count(*) FILTER (WHERE status = 'acknowledged') AS acknowledged,
        count(*) FILTER (WHERE status = 'resolved') AS resolved
    FROM r GROUP BY code
), kinds AS (
    SELECT code, json_object_agg(kind, n) AS by_kind
    FROM (SELECT code, kind, count(*) AS n FROM r GROUP BY code, kind) k GROUP BY code
)
SELECT c.*, d.name, k.by_kind
FROM counts c LEFT JOIN division d ON d.code = c.code
    LEFT JOIN kinds k ON k.code IS NOT DISTINCT FROM c.code
ORDER BY c.code NULLS LAST
"""
    params = {"admin_code": admin_code, **visible_params}
    return [dict(row) for row in session.execute(text(sql), params).mappings()]
