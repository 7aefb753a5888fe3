"""Conversion readiness (平战转换): each shelter work's conversion plan, and per division
how much shelter capacity can be made ready within a given number of hours.

A work's conversion time is the sum of its plan's steps (done one after another, the
cautious reading), else its stated conversion_hours; without either it is unknown and
counts as not convertible. A work's last drill is the latest drill of any of its steps.

A plan's replacement is written to the audit trail with the whole plan before and after
(entity `conversion_plan`), as a facility's writes are: readiness as of a past day reads
each work as it stood (app/audit/states.py) with the plan it had then, the `before` of
the first replacement after that day, else today's."""

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, select, text
from sqlalchemy.orm import Session

from app.accounts.principal import Principal
from app.audit import service as audit
from app.audit import states
from app.core.errors import InvalidInput
from app.divisions.models import DivisionLevel
from app.divisions.repository import BELOW_COLUMN, in_division
from app.facilities.scope import visible_sql
from app.shelters.models import SHELTER_FUNCTION, SHELTER_WORK, ConversionTask
from app.shelters.schemas import ConversionPlan, ConversionTaskRead, ConversionTaskWrite
from app.shelters.status import shelter_capacity

MAX_TASKS = 50
# Drills older than this are overdue.
DRILL_EVERY = timedelta(days=365)
# The works listed as overdue for a drill, per answer.
MAX_LISTED = 500

WORKS = """
WITH {then} w AS (
    SELECT id, code, name, coalesce(capacity_persons, 0) AS capacity,
           {group} AS division_code, t.last_drill, t.longest,
           coalesce(t.total, conversion_hours) AS hours, t.total IS NOT NULL AS planned,
           {late} AS late
    FROM {facility} AS facility
    LEFT JOIN {plan}
    WHERE {shelter} AND {visible} AND {area}
)
"""
# Each work's plan totals: today's through the index on its steps. A past day's works and
# plans are CTEs, whose row estimates after the shelter filter are far too low for a
# join there (each work would rescan every plan): they are joined in a CTE of their own.
PLAN_NOW = """LATERAL (
        SELECT sum(hours) AS total, max(drilled_on) AS last_drill,
               (array_agg(kind ORDER BY hours DESC, kind))[1] AS longest
        FROM conversion_task WHERE facility_id = facility.id
    ) AS t ON true"""
PLAN_AS_OF = "LATERAL (SELECT facility.total, facility.last_drill, facility.longest) AS t ON true"
FACILITY_PLANNED = """
facility_planned AS MATERIALIZED (
    SELECT f.*, p.total, p.last_drill, p.longest
    FROM facility_existing f
    LEFT JOIN (
        SELECT facility_id, sum(hours) AS total, max(drilled_on) AS last_drill,
               (array_agg(kind ORDER BY hours DESC, kind))[1] AS longest
        FROM plan_then GROUP BY facility_id
    ) p ON p.facility_id = f.id
),"""


# The steps of each work's plan at the end of :as_of_day (with states.ctes before it):
# the plan before the first replacement after that moment, else today's.
PLAN_THEN = """
plan_later AS MATERIALIZED (
    SELECT DISTINCT ON (facility_id) facility_id, before
    FROM audit_event WHERE entity = 'conversion_plan' AND at > :as_of_at
    ORDER BY facility_id, at, id
), plan_then AS MATERIALIZED (
    SELECT t.facility_id, t.kind, t.name, t.hours, t.drilled_on
    FROM conversion_task t
    WHERE NOT EXISTS (SELECT FROM plan_later l WHERE l.facility_id = t.facility_id)
    UNION ALL
    SELECT l.facility_id, s.kind, s.name, s.hours, s.drilled_on
    FROM plan_later l CROSS JOIN LATERAL jsonb_to_recordset(l.before->'tasks')
        AS s(kind varchar, name text, hours numeric, drilled_on date)
),"""


def plan_snapshot(session: Session, facility_id: int) -> dict[str, Any]:
    """The plan as the audit trail keeps it, and as PLAN_THEN reads it back."""
    tasks = session.scalars(
        select(ConversionTask)
        .where(ConversionTask.facility_id == facility_id)
        .order_by(ConversionTask.id)
    )
    return {
        "tasks": [
            {"kind": t.kind, "name": t.name, "hours": t.hours, "drilled_on": t.drilled_on}
            for t in tasks
        ]
    }


SUMMARY = """
SELECT w.division_code, d.name AS division_name, count(*) AS shelters,
       sum(capacity) AS capacity,
       count(*) FILTER (WHERE hours <= :within) AS ready_shelters,
       coalesce(sum(capacity) FILTER (WHERE hours <= :within), 0) AS ready_capacity,
       count(*) FILTER (WHERE hours IS NULL) AS unknown_shelters,
       coalesce(sum(capacity) FILTER (WHERE hours IS NULL), 0) AS unknown_capacity,
       count(*) FILTER (WHERE hours > :within) AS slow_shelters,
       coalesce(sum(capacity) FILTER (WHERE hours > :within), 0) AS slow_capacity,
       count(*) FILTER (WHERE late) AS late_registrations
FROM w LEFT JOIN division d ON d.code = w.division_code
GROUP BY w.division_code, d.name
ORDER BY w.division_code NULLS LAST
"""

BLOCKING = """
SELECT division_code, longest AS kind, count(*) AS shelters, sum(capacity) AS capacity
FROM w WHERE hours > :within AND planned
GROUP BY division_code, longest ORDER BY division_code, capacity DESC
"""

OVERDUE = """
SELECT id, code, name, division_code, last_drill, count(*) OVER () AS total
FROM w WHERE last_drill IS NULL OR last_drill < :drilled_after
ORDER BY last_drill NULLS FIRST, id
LIMIT :listed
"""


def plan(session: Session, facility_id: int) -> ConversionPlan:
    shelter_capacity(session, facility_id)
    tasks = session.scalars(
        select(ConversionTask)
        .where(ConversionTask.facility_id == facility_id)
        .order_by(ConversionTask.id)
    ).all()
    reads = [
        ConversionTaskRead(
            id=t.id, kind=t.kind, name=t.name, hours=float(t.hours), drilled_on=t.drilled_on
        )
        for t in tasks
    ]
    total = float(sum((t.hours for t in tasks), Decimal(0))) if tasks else None
    return ConversionPlan(facility_id=facility_id, tasks=reads, total_hours=total)


def replace_plan(
    session: Session,
    facility_id: int,
    tasks: list[ConversionTaskWrite],
    *,
    today: date,
    actor: str | None,
) -> ConversionPlan:
    shelter_capacity(session, facility_id, lock=True)
    if len(tasks) > MAX_TASKS:
        raise InvalidInput.on("tasks", f"at most {MAX_TASKS} steps")
    seen = set()
    for i, task in enumerate(tasks):
        if (task.kind, task.name) in seen:
            raise InvalidInput.on(f"[{i}]", f"{task.kind} {task.name!r} is listed twice")
        seen.add((task.kind, task.name))
        if task.drilled_on is not None and task.drilled_on > today:
            raise InvalidInput.on(f"[{i}].drilled_on", "lies in the future")
        if task.drilled_on is not None and task.drilled_on < date(1949, 10, 1):
            raise InvalidInput.on(f"[{i}].drilled_on", "lies before 1949-10-01")
    before = plan_snapshot(session, facility_id)
    session.execute(delete(ConversionTask).where(ConversionTask.facility_id == facility_id))
    session.add_all(ConversionTask(facility_id=facility_id, **task.model_dump()) for task in tasks)
    session.flush()
    audit.record_write(
        session,
        actor,
        "replace",
        "conversion_plan",
        facility_id,
        facility_id,
        before=before,
        after=plan_snapshot(session, facility_id),
        keep_snapshots=True,
    )
    return plan(session, facility_id)


def readiness(
    session: Session,
    *,
    principal: Principal,
    admin_code: str | None,
    level: DivisionLevel | None,
    within_hours: float,
    today: date,
    as_of: date | None = None,
) -> dict[str, Any]:
    """With `as_of`, each work as it stood at the end of that day, with the plan it had
    then, and drills overdue on that day; late_registrations counts the works the
    registry learnt of later (app/audit/states.py)."""
    states.check_as_of(as_of)
    visible, visible_params = visible_sql(principal)
    if as_of is None:
        sources = {"then": "", "facility": "facility", "plan": PLAN_NOW}
        shelter, late = SHELTER_WORK, "false"
    else:
        sources = {
            "then": states.ctes(["parking"]) + "," + PLAN_THEN + FACILITY_PLANNED,
            "facility": "facility_planned",
            "plan": PLAN_AS_OF,
        }
        shelter, late = f"{SHELTER_FUNCTION} AND status = 'in_service'", "NOT registered"
        today = as_of
    works = WORKS.format(
        group=BELOW_COLUMN[level],
        shelter=shelter,
        visible=visible,
        area=in_division("facility", level),
        late=late,
        **sources,
    )
    params = {
        "admin_code": admin_code,
        "within": within_hours,
        "drilled_after": today - DRILL_EVERY,
        "listed": MAX_LISTED,
        **visible_params,
    }
    if as_of is not None:
        params |= states.parameters(as_of)
    summary = session.execute(text(works + SUMMARY), params).mappings().all()
    blocking: dict[str | None, list[dict[str, Any]]] = {}
    for row in session.execute(text(works + BLOCKING), params).mappings():
        blocking.setdefault(row["division_code"], []).append(
            {"kind": row["kind"], "shelters": row["shelters"], "capacity": row["capacity"]}
        )
    overdue = session.execute(text(works + OVERDUE), params).mappings().all()
    divisions = [
        {
            "admin_code": row["division_code"],
            "name": row["division_name"],
            "shelters": row["shelters"],
            "capacity": row["capacity"],
            "ready": {"shelters": row["ready_shelters"], "capacity": row["ready_capacity"]},
            "too_slow": {"shelters": row["slow_shelters"], "capacity": row["slow_capacity"]},
            "no_plan": {"shelters": row["unknown_shelters"], "capacity": row["unknown_capacity"]},
            # What keeps the too-slow works back: their longest step, by kind.
            "blocking_steps": blocking.get(row["division_code"], []),
        }
        for row in summary
    ]
    return {
        "admin_code": admin_code,
        "within_hours": within_hours,
        "as_of": as_of,
        "late_registrations": (
            sum(row["late_registrations"] for row in summary) if as_of is not None else None
        ),
        "conversion_time": "the sum of the plan's steps, else the work's conversion_hours",
        "divisions": divisions,
        "drill_overdue": {
            "before": (today - DRILL_EVERY).isoformat(),
            "total": overdue[0]["total"] if overdue else 0,
            "works": [
                {
                    "facility_id": row["id"],
                    "code": row["code"],
                    "name": row["name"],
                    "admin_code": row["division_code"],
                    "last_drill": row["last_drill"].isoformat() if row["last_drill"] else None,
                }
                for row in overdue
            ],
        },
    }
