"""SQL for signage. Completeness is computed set-wise in PostgreSQL: facilities, the rule
set of each one's locality, and its installed signs, joined once."""

from datetime import date
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session, aliased

from app.audit import states
from app.divisions.models import DivisionLevel
from app.divisions.repository import BELOW_COLUMN, in_division
from app.facilities.models import Facility
from app.signage.models import Sign, SignageRule
from app.uses.models import UseType

# The facility rows as the statements below name them, for facilities.scope.visible_sql.
F = aliased(Facility, name="f")
# A rule over `f` as (SQL text, its parameters).
Condition = tuple[str, dict[str, Any]]


USE_NAMES = [use.value for use in UseType]
# Lists and progress count works that stand: a planned or decommissioned work carries no
# signs and is no failure of the campaign.
STANDING = "f.status IN ('in_service', 'suspended')"


def completeness_sql(where: str) -> str:
    """CTEs ending in per_facility: each work matching `where` (over `f`, :parking_only,
    :rule_locality bound) with its completeness, requirements and damaged signs."""
    # Per facility, one index range scan of its signs (grouped by kind) joined to the few
    # rules of its locality: linear in facilities, and no join between two large CTEs,
    # whose row estimates PostgreSQL cannot know.
    return f"""
WITH f AS MATERIALIZED (
    SELECT f.id, f.code, f.name, f.province_code, f.city_code, f.district_code,
        (f.peacetime_parking_spaces IS NOT NULL OR EXISTS (
            SELECT 1 FROM peacetime_use u WHERE u.facility_id = f.id AND u.type = 'parking'
        )) AS parking,
        coalesce(CAST(:rule_locality AS varchar), (
            SELECT r.admin_code FROM signage_rule r
            WHERE r.admin_code IN (f.district_code, f.city_code, f.province_code)
            ORDER BY r.admin_code = f.district_code DESC, r.admin_code = f.city_code DESC
            LIMIT 1)) AS locality
    FROM facility f
    WHERE f.deleted_at IS NULL AND {where}
), scoped AS MATERIALIZED (
    SELECT * FROM f WHERE NOT CAST(:parking_only AS boolean) OR f.parking
), per_facility AS (
    SELECT s.id, s.code, s.name, s.parking, s.locality,
        coalesce(s.district_code, s.city_code, s.province_code) AS admin_code,
        s.city_code, s.district_code, c.complete, c.completed_on, c.requirements,
        (SELECT count(*) FROM sign d WHERE d.facility_id = s.id AND d.status = 'damaged')
            AS damaged
    FROM scoped s
    CROSS JOIN LATERAL (
        SELECT coalesce(bool_and(coalesce(h.installed, 0) >= r.min_count), true) AS complete,
            max(h.last_installed) AS completed_on,
            coalesce(json_agg(json_build_object(
                'kind', r.kind, 'min_count', r.min_count,
                'installed', coalesce(h.installed, 0),
                'satisfied', coalesce(h.installed, 0) >= r.min_count) ORDER BY r.kind),
                '[]') AS requirements
        FROM signage_rule r
        LEFT JOIN (
            SELECT g.kind, count(*) AS installed, max(g.installed_on) AS last_installed
            FROM sign g WHERE g.facility_id = s.id AND g.status = 'installed'
            GROUP BY g.kind
        ) h ON h.kind = r.kind
        WHERE r.admin_code = s.locality
            AND (r.applies_to = 'all' OR (r.applies_to = 'parking' AND s.parking))
    ) c
)
"""


def facility_completeness(session: Session, facility_id: int) -> dict[str, Any] | None:
    sql = completeness_sql("f.id = :facility_id") + "SELECT * FROM per_facility"
    row = (
        session.execute(
            text(sql), {"facility_id": facility_id, "parking_only": False, "rule_locality": None}
        )
        .mappings()
        .first()
    )
    return dict(row) if row else None


def incomplete(
    session: Session,
    *,
    visible: Condition,
    level: DivisionLevel | None,
    admin_code: str | None,
    after_id: int | None,
    limit: int,
) -> list[dict[str, Any]]:
    """Works among the `visible` ones short of a required sign or carrying a damaged one."""
    where = f"{STANDING} AND {visible[0]} AND {in_division('f', level)}"
    sql = completeness_sql(where) + (
        "SELECT * FROM per_facility WHERE (NOT complete OR damaged > 0)"
        " AND id > :after_id ORDER BY id LIMIT :limit"
    )
    params = {
        "admin_code": admin_code,
        "after_id": after_id or 0,
        "limit": limit,
        "parking_only": False,
        "rule_locality": None,
        **visible[1],
    }
    return [dict(row) for row in session.execute(text(sql), params).mappings()]


def progress(
    session: Session,
    *,
    visible: Condition,
    level: DivisionLevel,
    admin_code: str,
    parking_only: bool,
    as_of: date | None = None,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Counts over the `visible` works; with `as_of`, of the works and signs as they stood
    at the end of that day (app/audit/states.py), and the timeline up to its month."""
    where = f"{STANDING} AND {visible[0]} AND {in_division('f', level)}"
    group = BELOW_COLUMN[level]
    params = {
        "admin_code": admin_code,
        "parking_only": parking_only,
        "rule_locality": None,
        **visible[1],
    }
    if as_of is not None:
        params |= states.parameters(as_of)
    groups_sql = (
        completeness_sql(where)
        + f"""
SELECT p.{group} AS code, d.name, count(*) AS total, count(*) FILTER (WHERE p.complete)
    AS complete
FROM per_facility p LEFT JOIN division d ON d.code = p.{group}
GROUP BY p.{group}, d.name ORDER BY p.{group} NULLS LAST
"""
    )
    timeline_sql = (
        completeness_sql(where)
        + """
, installs AS (
    SELECT date_trunc('month', g.installed_on)::date AS month, count(*) AS n
    FROM sign g JOIN scoped s ON s.id = g.facility_id
    WHERE g.installed_on IS NOT NULL GROUP BY 1
), completions AS (
    SELECT date_trunc('month', completed_on)::date AS month, count(*) AS n
    FROM per_facility WHERE complete AND completed_on IS NOT NULL GROUP BY 1
)
SELECT to_char(coalesce(i.month, c.month), 'YYYY-MM') AS month,
    coalesce(i.n, 0) AS installs, coalesce(c.n, 0) AS completed,
    sum(coalesce(c.n, 0)) OVER (ORDER BY coalesce(i.month, c.month)) AS cumulative_completed
FROM installs i FULL JOIN completions c ON c.month = i.month
ORDER BY 1
"""
    )
    if as_of is not None:
        groups_sql = f"""
WITH {states.ctes(USE_NAMES)}
SELECT f.{group} AS code, d.name, count(*) AS total,
    count(*) FILTER (WHERE f.signage_complete) AS complete,
    count(*) FILTER (WHERE f.late) AS late_registrations
FROM facility_then f LEFT JOIN division d ON d.code = f.{group}
WHERE {where} AND (NOT CAST(:parking_only AS boolean)
                   OR f.use_parking OR f.peacetime_parking_spaces IS NOT NULL)
GROUP BY f.{group}, d.name ORDER BY f.{group} NULLS LAST
"""
        timeline_sql = (
            f"SELECT * FROM ({timeline_sql}) t"
            " WHERE month <= to_char(CAST(:as_of_day AS date), 'YYYY-MM') ORDER BY month"
        )
    groups = [dict(row) for row in session.execute(text(groups_sql), params).mappings()]
    timeline = [dict(row) for row in session.execute(text(timeline_sql), params).mappings()]
    return groups, timeline


def signs_of(session: Session, facility_id: int) -> list[Sign]:
    return list(
        session.scalars(select(Sign).where(Sign.facility_id == facility_id).order_by(Sign.id))
    )


def get_sign(session: Session, facility_id: int, sign_id: int, *, for_update: bool) -> Sign | None:
    query = select(Sign).where(Sign.id == sign_id, Sign.facility_id == facility_id)
    return session.scalar(query.with_for_update() if for_update else query)


def rules(session: Session, admin_code: str | None) -> list[SignageRule]:
    query = select(SignageRule).order_by(SignageRule.admin_code, SignageRule.kind)
    if admin_code:
        query = query.where(SignageRule.admin_code == admin_code)
    return list(session.scalars(query))
