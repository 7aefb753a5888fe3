"""SQL for statistics: one statement over facility_figure per answer.

Every figure counts the works its reader may see (facilities.scope.visible_clause): for the public,
restricted works are left out at every level, not only below the city. Counted in a
city's total and left out of its districts, they would be the difference; counted with a
function filter and by year, a single command post would stand out.

Why not on the fly from the source tables: signage completeness alone joins a million
facilities to six million signs and their localities' rules, seconds per answer; open
findings walk three million maintenance checks. Why not a maintained cube of sums per
(division, year, function, form, status): every writer in a cell would queue on its row
until commit, and a long import would hold thousands of them. The per-facility figures
(app/stats/models.py) are exact, written by the transaction that changes a source, and
a scan of them grouped any way takes 0.2-0.4 s for the whole million (docs/performance.md, Statistics).
"""

from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from app.accounts.principal import ANONYMOUS, Principal
from app.divisions.models import DivisionLevel
from app.facilities.models import ConstructionForm, FacilityStatus, WartimeFunction
from app.facilities.scope import visible_sql
from app.stats.models import FacilityFigure
from app.uses.models import UseType

# Column names from these tables only, never from input.
LEVEL_COLUMN = {
    DivisionLevel.province: "province_code",
    DivisionLevel.city: "city_code",
    DivisionLevel.district: "district_code",
}
# Signage progress counts works that stand, as GET /v1/signage/progress does.
STANDING = "status IN ('in_service', 'suspended')"
# Each figure as an aggregate over facility_figure; a total sums the groups' figures.
AGGREGATES = {
    "facilities": "count(*)",
    "building_area_m2": "coalesce(sum(building_area), 0)",
    "shelter_area_m2": "coalesce(sum(shelter_area), 0)",
    "capacity_persons": "coalesce(sum(capacity_persons), 0)",
    "parking_spaces": "coalesce(sum(parking_spaces), 0)",
    "ev_spaces": "coalesce(sum(ev_spaces), 0)",
    "charging_piles": "coalesce(sum(charging_piles), 0)",
    **{f"use_{use.value}": f"count(*) FILTER (WHERE use_{use.value})" for use in UseType},
    "signage_standing": f"count(*) FILTER (WHERE {STANDING})",
    "signage_complete": f"count(*) FILTER (WHERE {STANDING} AND signage_complete)",
    "open_reports": "coalesce(sum(open_reports), 0)",
    "open_findings": "coalesce(sum(open_findings), 0)",
}
_USES = ", ".join(f"'{use.value}', r.use_{use.value}" for use in UseType)


@dataclass(frozen=True)
class StatsFilter:
    level: DivisionLevel | None = None
    admin_code: str | None = None
    wartime_function: WartimeFunction | None = None
    construction_form: ConstructionForm | None = None
    status: FacilityStatus | None = None
    # whose figures: they count the works this caller may see
    principal: Principal = ANONYMOUS

    def where(self) -> tuple[str, dict[str, Any]]:
        visible, params = visible_sql(self.principal, FacilityFigure)
        parts = [visible]
        if self.level is not None:
            parts.append(f"{LEVEL_COLUMN[self.level]} = :admin_code")
            params["admin_code"] = self.admin_code
        for name in ("wartime_function", "construction_form", "status"):
            if (value := getattr(self, name)) is not None:
                parts.append(f"{name} = :{name}")
                params[name] = str(value)
        return " AND ".join(parts), params


def figures(
    session: Session,
    where: StatsFilter,
    *,
    level: DivisionLevel | None,
    by_year: bool,
    restricted: bool,
) -> str:
    """The JSON document {by, groups, total}: one group per division at `level` and/or
    completion year, and their total. One parallel scan: the total sums the groups."""
    condition, params = where.where()
    admin = LEVEL_COLUMN[level] if level else "NULL::varchar"
    year = "completion_year" if by_year else "NULL::smallint"
    aggregates = ",\n        ".join(f"{sql} AS {name}" for name, sql in AGGREGATES.items())
    sums = ", ".join(f"coalesce(sum({name}), 0)" for name in AGGREGATES)
    sql = f"""
WITH g AS (
    SELECT {admin} AS admin_code, {year} AS completion_year,
        {aggregates}
    FROM facility_figure
    WHERE {condition}
    GROUP BY 1, 2
), rows AS (
    SELECT false AS is_total, * FROM g
    UNION ALL
    SELECT true, NULL, NULL, {sums} FROM g
), docs AS (
    SELECT r.is_total, r.admin_code, r.completion_year,
        jsonb_build_object(
            'admin_code', r.admin_code, 'admin_name', d.name,
            'completion_year', r.completion_year, 'facilities', r.facilities,
            'building_area_m2', r.building_area_m2, 'shelter_area_m2', r.shelter_area_m2,
            'capacity_persons', r.capacity_persons, 'parking_spaces', r.parking_spaces,
            'ev_spaces', r.ev_spaces, 'charging_piles', r.charging_piles,
            'facilities_by_use', json_build_object({_USES}),
            'signage_standing', r.signage_standing, 'signage_complete', r.signage_complete,
            'signage_complete_share', round(r.signage_complete::numeric
                / nullif(r.signage_standing, 0), 4),
            'open_reports', r.open_reports
        ) || CASE WHEN :restricted
                  THEN jsonb_build_object('open_maintenance_findings', r.open_findings)
                  ELSE '{{}}'::jsonb END AS doc
    FROM rows r LEFT JOIN division d ON d.code = r.admin_code
)
SELECT json_build_object(
    'by', CAST(:by AS varchar[]),
    'groups', coalesce(json_agg(doc ORDER BY admin_code NULLS LAST, completion_year NULLS LAST)
                       FILTER (WHERE NOT is_total AND :grouped), '[]'),
    'total', (array_agg(doc) FILTER (WHERE is_total))[1])::text
FROM docs
"""
    by = [level.value] if level else []
    by += ["year"] if by_year else []
    return session.execute(
        text(sql), {**params, "restricted": restricted, "by": by, "grouped": bool(by)}
    ).scalar_one()


def parking_by_year(session: Session, where: StatsFilter) -> str:
    """The JSON array of car-park spaces by the completion year of their works, with the
    running total: the spaces each year's completions added."""
    condition, params = where.where()
    sql = f"""
WITH y AS (
    SELECT completion_year AS year, count(*) AS car_parks, sum(parking_spaces) AS new_spaces
    FROM facility_figure
    WHERE {condition} AND parking_spaces > 0
    GROUP BY completion_year
), c AS (
    SELECT *, sum(new_spaces) OVER (ORDER BY year NULLS LAST) AS cumulative_spaces FROM y
)
SELECT coalesce(json_agg(json_build_object(
    'year', year, 'car_parks', car_parks, 'new_spaces', new_spaces,
    'cumulative_spaces', cumulative_spaces) ORDER BY year NULLS LAST), '[]')::text
FROM c
"""
    return session.execute(text(sql), params).scalar_one()
