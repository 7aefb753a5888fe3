"""SQL for campaign evaluation: the signage completeness of app/signage/repository.py now,
and that of app/audit/states.py at a past day, over the campaign's scope; for maintenance
and conversion drill campaigns, the works' records and plans at a day, set-wise in the
same shape (`per_facility`: complete, completed_on, missing)."""

from datetime import date, timedelta
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from app.audit import states
from app.campaigns.models import Campaign, CampaignKind
from app.shelters.models import SHELTER_FUNCTION
from app.shelters.readiness import PLAN_THEN
from app.signage.repository import STANDING, USE_NAMES, completeness_sql

# A rule over `f` as (SQL text, its parameters): facilities.scope.visible_sql.
Condition = tuple[str, dict[str, Any]]
IN_SCOPE = (
    "(f.province_code = ANY(:codes) OR f.city_code = ANY(:codes) OR f.district_code = ANY(:codes))"
)


def get(session: Session, campaign_id: int) -> Campaign | None:
    return session.get(Campaign, campaign_id)


def named(session: Session, name: str) -> Campaign | None:
    return session.scalar(select(Campaign).where(Campaign.name == name))


def list_all(session: Session) -> list[Campaign]:
    return list(session.scalars(select(Campaign).order_by(Campaign.id)))


def rule_localities(session: Session) -> set[str]:
    return set(session.scalars(text("SELECT DISTINCT admin_code FROM signage_rule")))


# Works used for parking, over `facility` rows now and over states' facility_then.
PARKING_NOW = """(f.peacetime_parking_spaces IS NOT NULL OR EXISTS (
    SELECT FROM peacetime_use u WHERE u.facility_id = f.id AND u.type = 'parking'))"""
PARKING_THEN = "(f.use_parking OR f.peacetime_parking_spaces IS NOT NULL)"
# With no `within_days`, anything since the start: further back than any start.
ANY_AGE = 100_000

# A maintenance campaign's per_facility over `scoped` (id, code, name, admin_code): the
# counting records (not corrected) since the start up to :day, each giving the date it
# meets a requirement on; a requirement met on a day when it has such a date within
# :within_days before it; the first day all were met at once is the completion.
MAINTENANCE = """
, evidence AS MATERIALIZED (
    SELECT r.facility_id, 'record_kind' AS requirement, CAST(r.kind AS text) AS code,
        r.performed_on AS on_day
    FROM maintenance_record r JOIN scoped s ON s.id = r.facility_id
    WHERE r.kind = ANY(CAST(:record_kinds AS varchar[]))
        AND r.performed_on BETWEEN :starts_on AND :day
        AND NOT EXISTS (SELECT FROM maintenance_record x WHERE x.corrects_id = r.id)
    UNION ALL
    SELECT r.facility_id, 'item', c.item_code, r.performed_on
    FROM maintenance_record r JOIN scoped s ON s.id = r.facility_id
    JOIN maintenance_check c ON c.record_id = r.id
    WHERE r.kind = ANY(CAST(:record_kinds AS varchar[]))
        AND c.item_code = ANY(CAST(:items AS varchar[])) AND c.result <> 'not_checked'
        AND r.performed_on BETWEEN :starts_on AND :day
        AND NOT EXISTS (SELECT FROM maintenance_record x WHERE x.corrects_id = r.id)
), required AS (
    SELECT 'record_kind' AS requirement, unnest(CAST(:record_kinds AS text[])) AS code
    UNION ALL
    SELECT 'item', unnest(CAST(:items AS text[]))
), met AS (
    SELECT s.id, q.requirement, q.code, max(e.on_day) AS last_on,
        coalesce(max(e.on_day) >= CAST(:day AS date) - CAST(:within_days AS integer), false)
            AS satisfied
    FROM scoped s CROSS JOIN required q
    LEFT JOIN evidence e ON e.facility_id = s.id AND e.requirement = q.requirement
        AND e.code = q.code
    GROUP BY s.id, q.requirement, q.code
), covers AS (
    -- Each day a requirement has evidence on meets it until its next such day or until
    -- :within_days have passed, whichever comes first: disjoint spans per requirement.
    SELECT facility_id, on_day AS from_day,
        least(lead(on_day) OVER (PARTITION BY facility_id, requirement, code ORDER BY on_day),
            on_day + CAST(:within_days AS integer) + 1) AS until_day
    FROM (SELECT DISTINCT facility_id, requirement, code, on_day FROM evidence) d
), met_count AS (
    -- Per work and day a span starts or ends on, how many requirements are met: a
    -- running sum, linear in the work's records where comparing every pair of its
    -- evidence days was quadratic.
    SELECT facility_id, on_day,
        sum(sum(delta)) OVER (PARTITION BY facility_id ORDER BY on_day) AS met
    FROM (
        SELECT facility_id, from_day AS on_day, 1 AS delta FROM covers
        UNION ALL
        SELECT facility_id, until_day, -1 FROM covers
    ) moves
    GROUP BY facility_id, on_day
), first_complete AS (
    -- Per work, the first day with every requirement met at once.
    SELECT facility_id, min(on_day) AS completed_on
    FROM met_count WHERE met = (SELECT count(*) FROM required)
    GROUP BY facility_id
), per_facility AS (
    SELECT s.id, s.code, s.name, s.admin_code, s.late, bool_and(m.satisfied) AS complete,
        min(fc.completed_on) AS completed_on,
        coalesce(json_agg(json_build_object(
            'requirement', m.requirement, 'code', m.code, 'last_on', m.last_on)
            ORDER BY m.requirement DESC, m.code) FILTER (WHERE NOT m.satisfied), '[]')
            AS missing
    FROM scoped s JOIN met m ON m.id = s.id
    LEFT JOIN first_complete fc ON fc.facility_id = s.id
    GROUP BY s.id, s.code, s.name, s.admin_code, s.late
)
"""

# A conversion drill campaign's per_facility over `scoped`, from the steps of each work's
# plan in {tasks}: what it lacks is the plan itself, the step kinds the rules require, and
# the steps not drilled between :drilled_from and :day; completion the last drill.
CONVERSION_DRILL = """
, steps AS MATERIALIZED (
    SELECT t.facility_id, CAST(t.kind AS text) AS kind, t.name, t.drilled_on
    FROM {tasks} t JOIN scoped s ON s.id = t.facility_id
), lacking AS (
    SELECT s.id, NULL::text AS step, NULL::text AS name, NULL::date AS drilled_on
    FROM scoped s WHERE NOT EXISTS (SELECT FROM steps t WHERE t.facility_id = s.id)
    UNION ALL
    SELECT t.facility_id, t.kind, t.name, t.drilled_on FROM steps t
    WHERE t.drilled_on IS NULL OR t.drilled_on < :drilled_from OR t.drilled_on > :day
    UNION ALL
    SELECT s.id, k.kind, NULL, NULL
    FROM scoped s CROSS JOIN unnest(CAST(:steps AS text[])) AS k(kind)
    WHERE EXISTS (SELECT FROM steps t WHERE t.facility_id = s.id)
        AND NOT EXISTS (SELECT FROM steps t WHERE t.facility_id = s.id AND t.kind = k.kind)
), per_facility AS (
    SELECT s.id, s.code, s.name, s.admin_code, s.late, l.missing IS NULL AS complete,
        CASE WHEN l.missing IS NULL THEN d.completed_on END AS completed_on,
        coalesce(l.missing, '[]') AS missing
    FROM scoped s
    LEFT JOIN (
        SELECT id, json_agg(json_build_object('step', step, 'name', name,
            'drilled_on', drilled_on) ORDER BY step NULLS FIRST, name) AS missing
        FROM lacking GROUP BY id
    ) l ON l.id = s.id
    LEFT JOIN (
        SELECT facility_id, max(drilled_on) AS completed_on FROM steps GROUP BY facility_id
    ) d ON d.facility_id = s.id
)
"""


def _params(campaign: Campaign, visible: Condition) -> dict[str, Any]:
    return {
        "codes": campaign.admin_codes,
        "parking_only": campaign.parking_only,
        "rule_locality": campaign.rule_locality,
        **visible[1],
    }


def _rule_params(campaign: Campaign, day: date) -> dict[str, Any]:
    """The parameters of MAINTENANCE and CONVERSION_DRILL, evaluated at `day`."""
    rules = campaign.rules
    within = rules.get("within_days") or ANY_AGE
    return {
        "day": day,
        "starts_on": campaign.starts_on,
        "within_days": within,
        "drilled_from": max(campaign.starts_on, day - timedelta(days=within)),
        "record_kinds": rules.get("record_kinds", []),
        "items": rules.get("items", []),
        "steps": rules.get("steps", []),
    }


def _per_kind(campaign: Campaign, tasks: str) -> str:
    if campaign.kind == CampaignKind.maintenance:
        return MAINTENANCE
    return CONVERSION_DRILL.format(tasks=tasks)


def _works_sql(campaign: Campaign, visible: Condition) -> str:
    """CTEs ending in per_facility, over the works in scope as they stand now."""
    if campaign.kind == CampaignKind.signage:
        return completeness_sql(f"{STANDING} AND {visible[0]} AND {IN_SCOPE}")
    shelter = f" AND {SHELTER_FUNCTION}" if campaign.kind == CampaignKind.conversion_drill else ""
    return f"""
WITH scoped AS MATERIALIZED (
    SELECT f.id, f.code, f.name,
        coalesce(f.district_code, f.city_code, f.province_code) AS admin_code, false AS late
    FROM facility f
    WHERE f.deleted_at IS NULL AND {STANDING} AND {visible[0]} AND {IN_SCOPE}{shelter}
        AND (NOT CAST(:parking_only AS boolean) OR {PARKING_NOW})
)""" + _per_kind(campaign, "conversion_task")


def now(
    session: Session, campaign: Campaign, *, visible: Condition, today: date, limit: int
) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]:
    """(totals, the works still short with what they lack, the monthly timeline from the
    start to the later of the target and the last completion, never past today)."""
    base = _works_sql(campaign, visible)
    params = _params(campaign, visible) | {"limit": limit, "today": today}
    if campaign.kind != CampaignKind.signage:
        params |= _rule_params(campaign, today)
    totals = session.execute(
        text(
            base + "SELECT count(*) AS works, count(*) FILTER (WHERE complete) AS complete"
            " FROM per_facility"
        ),
        params,
    ).one()
    short = session.execute(text(base + _short_sql(campaign)), params).mappings()
    timeline = session.execute(
        text(
            base
            + """
, done AS (
    SELECT date_trunc('month', completed_on)::date AS month, count(*) AS n
    FROM per_facility WHERE complete AND completed_on IS NOT NULL GROUP BY 1
), months AS (
    SELECT generate_series(
        date_trunc('month', CAST(:starts_on AS date)),
        date_trunc('month', least(CAST(:today AS date), greatest(CAST(:target_on AS date),
            (SELECT max(month) FROM done)))),
        interval '1 month')::date AS month
)
SELECT to_char(m.month, 'YYYY-MM') AS month, coalesce(d.n, 0) AS completed,
    (SELECT coalesce(sum(n), 0) FROM done WHERE done.month <= m.month) AS cumulative_completed
FROM months m LEFT JOIN done d ON d.month = m.month ORDER BY m.month"""
        ),
        params | {"starts_on": campaign.starts_on, "target_on": campaign.target_on},
    ).mappings()
    return dict(totals._mapping), [dict(row) for row in short], [dict(row) for row in timeline]


def _short_sql(campaign: Campaign) -> str:
    if campaign.kind != CampaignKind.signage:
        return """
SELECT id AS facility_id, code, name, admin_code, 0 AS damaged, missing
FROM per_facility WHERE NOT complete ORDER BY id LIMIT :limit"""
    return """
SELECT id AS facility_id, code, name, admin_code, damaged,
    (SELECT coalesce(json_agg(r ORDER BY r->>'kind'), '[]') FROM json_array_elements(requirements) r
     WHERE NOT (r->>'satisfied')::boolean) AS missing
FROM per_facility WHERE NOT complete ORDER BY id LIMIT :limit"""


def at(session: Session, campaign: Campaign, *, visible: Condition, day: date) -> dict[str, Any]:
    """Works in scope and how many were complete at the end of `day`, from the audit trail;
    how many of them the registry learnt of only later."""
    params = _params(campaign, visible) | states.parameters(
        day, rule_locality=campaign.rule_locality
    )
    if campaign.kind != CampaignKind.signage:
        shelter = (
            f" AND {SHELTER_FUNCTION}" if campaign.kind == CampaignKind.conversion_drill else ""
        )
        sql = (
            f"""
WITH {states.ctes(USE_NAMES)}, {PLAN_THEN.rstrip(",")}, scoped AS MATERIALIZED (
    SELECT f.id, f.code, f.name,
        coalesce(f.district_code, f.city_code, f.province_code) AS admin_code, f.late
    FROM facility_then f
    WHERE {STANDING} AND {visible[0]} AND {IN_SCOPE}{shelter}
        AND (NOT CAST(:parking_only AS boolean) OR {PARKING_THEN})
)"""
            + _per_kind(campaign, "plan_then")
            + """
SELECT count(*) AS works, count(*) FILTER (WHERE complete) AS complete,
    count(*) FILTER (WHERE late) AS late_registrations
FROM per_facility"""
        )
        params |= _rule_params(campaign, day)
        return dict(session.execute(text(sql), params).one()._mapping)
    sql = f"""
WITH {states.ctes(USE_NAMES)}
SELECT count(*) AS works, count(*) FILTER (WHERE f.signage_complete) AS complete,
    count(*) FILTER (WHERE f.late) AS late_registrations
FROM facility_then f
WHERE {STANDING} AND {visible[0]} AND {IN_SCOPE}
    AND (NOT CAST(:parking_only AS boolean) OR {PARKING_THEN})
"""
    return dict(session.execute(text(sql), params).one()._mapping)
