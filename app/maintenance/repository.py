"""SQL for maintenance. A record counts ("is effective") unless a later record corrects it."""

from datetime import date
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from app.accounts.models import Role
from app.accounts.principal import Principal
from app.divisions.models import DivisionLevel
from app.divisions.repository import BELOW_COLUMN, in_division
from app.maintenance.models import MaintenanceCheck, MaintenanceItem, MaintenanceRecord

EFFECTIVE = "NOT EXISTS (SELECT 1 FROM maintenance_record x WHERE x.corrects_id = {r}.id)"
# Items of works that exist and are kept up; planned or decommissioned ones are not due.
MAINTAINED = "f.status IN ('in_service', 'suspended') AND f.deleted_at IS NULL"
SCOPE = """(CAST(:everywhere AS boolean) OR f.id = ANY(CAST(:scope_ids AS bigint[]))
    OR f.province_code = ANY(CAST(:scope_codes AS varchar[]))
    OR f.city_code = ANY(CAST(:scope_codes AS varchar[]))
    OR f.district_code = ANY(CAST(:scope_codes AS varchar[])))"""


def scope_params(principal: Principal) -> dict[str, Any]:
    return {
        "everywhere": principal.role in (Role.admin, Role.gis),
        "scope_ids": list(principal.facility_ids),
        "scope_codes": list(principal.admin_codes),
    }


def items(session: Session) -> list[MaintenanceItem]:
    return list(session.scalars(select(MaintenanceItem).order_by(MaintenanceItem.code)))


def known_items(session: Session, codes: list[str]) -> set[str]:
    return set(session.scalars(select(MaintenanceItem.code).where(MaintenanceItem.code.in_(codes))))


def get_record(session: Session, record_id: int) -> MaintenanceRecord | None:
    return session.get(MaintenanceRecord, record_id)


def corrected(session: Session, record_id: int) -> bool:
    return (
        session.scalar(
            select(MaintenanceRecord.id).where(MaintenanceRecord.corrects_id == record_id)
        )
        is not None
    )


def records_of(session: Session, facility_id: int) -> list[dict[str, Any]]:
    sql = """
SELECT r.*, (SELECT x.id FROM maintenance_record x WHERE x.corrects_id = r.id) AS corrected_by_id
FROM maintenance_record r WHERE r.facility_id = :facility_id
ORDER BY r.performed_on DESC, r.id DESC
"""
    return [
        dict(row) for row in session.execute(text(sql), {"facility_id": facility_id}).mappings()
    ]


def checks_of(session: Session, record_ids: list[int]) -> list[MaintenanceCheck]:
    if not record_ids:
        return []
    return list(
        session.scalars(
            select(MaintenanceCheck)
            .where(MaintenanceCheck.record_id.in_(record_ids))
            .order_by(MaintenanceCheck.id)
        )
    )


def findings(
    session: Session,
    facility_id: int,
    *,
    open_only: bool,
    ignore_record_id: int | None = None,
    check_id: int | None = None,
) -> list[dict[str, Any]]:
    """Serious findings of effective records, each with the effective repair check that
    closed it, if any. `ignore_record_id` leaves out closures by a record being corrected."""
    sql = f"""
SELECT c.id AS check_id, r.id AS record_id, r.facility_id, c.item_code, r.performed_on,
    c.severity, c.finding, closer.id AS closed_by_check_id
FROM maintenance_check c JOIN maintenance_record r ON r.id = c.record_id
LEFT JOIN LATERAL (
    SELECT k.id FROM maintenance_check k JOIN maintenance_record kr ON kr.id = k.record_id
    WHERE k.closes_id = c.id AND kr.kind = 'repair' AND {EFFECTIVE.format(r="kr")}
        AND kr.id IS DISTINCT FROM CAST(:ignore AS bigint)
    ORDER BY k.id LIMIT 1
) closer ON true
WHERE r.facility_id = :facility_id AND c.severity = 'serious' AND {EFFECTIVE.format(r="r")}
    AND (NOT CAST(:open_only AS boolean) OR closer.id IS NULL)
    AND (CAST(:check_id AS bigint) IS NULL OR c.id = CAST(:check_id AS bigint))
ORDER BY r.performed_on, c.id
"""
    params = {
        "facility_id": facility_id,
        "open_only": open_only,
        "ignore": ignore_record_id,
        "check_id": check_id,
    }
    return [dict(row) for row in session.execute(text(sql), params).mappings()]


def overdue(
    session: Session,
    *,
    principal: Principal,
    level: DivisionLevel | None,
    admin_code: str | None,
    on: date,
    after: tuple[int, str],
    limit: int,
    due_from: date | None = None,
) -> list[dict[str, Any]]:
    """(facility, item) pairs whose last effective check, plus the item's interval, lies
    before `on` (and on or after `due_from`: those fallen overdue lately). An item never
    checked counts from the facility's registration."""
    area = in_division("f", level)
    sql = f"""
{_OVERDUE.format(area=area)}
    AND (f.id, i.code) > (:after_id, :after_code)
    AND (CAST(:due_from AS date) IS NULL OR {_DUE_ON} >= CAST(:due_from AS date))
ORDER BY f.id, i.code
LIMIT :limit
"""
    params = {
        "admin_code": admin_code,
        "on": on,
        "after_id": after[0],
        "after_code": after[1],
        "limit": limit,
        "due_from": due_from,
        **scope_params(principal),
    }
    return [dict(row) for row in session.execute(text(sql), params).mappings()]


# The day an item falls due: its interval after its last effective check (`last.done`),
# or after the work's registration when it was never checked.
_DUE_ON = """(coalesce(last.done, f.created_at::date)
        + make_interval(months => i.interval_months))::date"""

# (facility, item) pairs overdue on :on, in {area} and the caller's scope; overdue from
# the day after the due day.
_OVERDUE = f"""
SELECT f.id AS facility_id, f.code, f.name,
    coalesce(f.district_code, f.city_code, f.province_code) AS admin_code,
    i.code AS item_code, i.discipline, i.interval_months, last.done AS last_done_on,
    {_DUE_ON} + 1 AS overdue_since
FROM facility f CROSS JOIN maintenance_item i
LEFT JOIN LATERAL (
    SELECT max(r.performed_on) AS done
    FROM maintenance_record r JOIN maintenance_check c ON c.record_id = r.id
    WHERE r.facility_id = f.id AND c.item_code = i.code AND c.result <> 'not_checked'
        AND {EFFECTIVE.format(r="r")}
        AND r.performed_on <= :on  -- a check done after the day says nothing of it
) last ON true
WHERE {MAINTAINED} AND {{area}} AND {SCOPE} AND {_DUE_ON} < :on
"""


def overdue_by_division(
    session: Session,
    *,
    principal: Principal,
    level: DivisionLevel | None,
    admin_code: str | None,
    on: date,
) -> list[dict[str, Any]]:
    """Overdue items and the facilities that have any, per division one level below
    `admin_code` (provinces when none is given)."""
    area = in_division("f", level)
    below = BELOW_COLUMN[level]
    sql = f"""
SELECT coalesce(g.{below}, '') AS code, d.name,
    count(DISTINCT o.facility_id) AS facilities, count(*) AS items
FROM ({_OVERDUE.format(area=area)}) o
JOIN facility g ON g.id = o.facility_id
LEFT JOIN division d ON d.code = g.{below}
GROUP BY 1, 2
ORDER BY 1
"""
    params = {"admin_code": admin_code, "on": on, **scope_params(principal)}
    return [dict(row) for row in session.execute(text(sql), params).mappings()]
