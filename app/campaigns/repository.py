"""SQL for campaign evaluation: the signage completeness of app/signage/repository.py now,
and that of app/audit/states.py at a past day, over the campaign's scope."""

from datetime import date
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from app.audit import states
from app.campaigns.models import Campaign
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


def _params(campaign: Campaign, visible: Condition) -> dict[str, Any]:
    return {
        "codes": campaign.admin_codes,
        "parking_only": campaign.parking_only,
        "rule_locality": campaign.rule_locality,
        **visible[1],
    }


def now(
    session: Session, campaign: Campaign, *, visible: Condition, today: date, limit: int
) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]:
    """(totals, the works still short with what they lack, the monthly timeline from the
    start to the later of the target and the last completion, never past today)."""
    base = completeness_sql(f"{STANDING} AND {visible[0]} AND {IN_SCOPE}")
    params = _params(campaign, visible) | {"limit": limit, "today": today}
    totals = session.execute(
        text(
            base + "SELECT count(*) AS works, count(*) FILTER (WHERE complete) AS complete"
            " FROM per_facility"
        ),
        params,
    ).one()
    short = session.execute(
        text(
            base
            + """
SELECT id AS facility_id, code, name, admin_code, damaged,
    (SELECT coalesce(json_agg(r ORDER BY r->>'kind'), '[]') FROM json_array_elements(requirements) r
     WHERE NOT (r->>'satisfied')::boolean) AS missing
FROM per_facility WHERE NOT complete ORDER BY id LIMIT :limit"""
        ),
        params,
    ).mappings()
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


def at(session: Session, campaign: Campaign, *, visible: Condition, day: date) -> dict[str, Any]:
    """Works in scope and how many were complete at the end of `day`, from the audit trail;
    how many of them the registry learnt of only later."""
    sql = f"""
WITH {states.ctes(USE_NAMES)}
SELECT count(*) AS works, count(*) FILTER (WHERE f.signage_complete) AS complete,
    count(*) FILTER (WHERE f.late) AS late_registrations
FROM facility_then f
WHERE {STANDING} AND {visible[0]} AND {IN_SCOPE}
    AND (NOT CAST(:parking_only AS boolean)
         OR f.use_parking OR f.peacetime_parking_spaces IS NOT NULL)
"""
    params = _params(campaign, visible) | states.parameters(
        day, rule_locality=campaign.rule_locality
    )
    return dict(session.execute(text(sql), params).one()._mapping)
