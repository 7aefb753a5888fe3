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
from datetime import date
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from app.accounts.principal import ANONYMOUS, Principal
from app.audit import states
from app.divisions.models import DivisionLevel
from app.divisions.repository import CODE_COLUMN, in_division
from app.facilities.models import ConstructionForm, FacilityStatus, WartimeFunction
from app.facilities.scope import visible_sql
from app.stats.models import FacilityFigure
from app.uses.models import UseType

# Signage progress counts works that stand, as GET /v1/signage/progress does.
STANDING = "status IN ('in_service', 'suspended')"
# Column names from these tables only, never from input.
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
            parts.append(f"{CODE_COLUMN[self.level]} = :admin_code")
            params["admin_code"] = self.admin_code
        for name in ("wartime_function", "construction_form", "status"):
            if (value := getattr(self, name)) is not None:
                parts.append(f"{name} = :{name}")
                params[name] = str(value)
        return " AND ".join(parts), params


# Group keys per dimension: (key in the answer, SQL over facility_figure's columns).
# Protection classes are restricted: only callers who read restricted figures group by
# them (service.get_figures), and the column comes from facility, joined for them only.
GROUP_KEYS = {
    "province": ("admin_code", "province_code"),
    "city": ("admin_code", "city_code"),
    "district": ("admin_code", "district_code"),
    "year": ("completion_year", "completion_year"),
    "decade": ("completion_decade", "completion_year / 10 * 10"),
    "wartime_function": ("wartime_function", "wartime_function"),
    "construction_form": ("construction_form", "construction_form"),
    "protection_class": (
        "protection_class",
        "nullif(concat_ws('/', '核' || nuclear_level, '常' || conventional_level), '')",
    ),
}
_WITH_PROTECTION = (
    "(SELECT ff.*, f.nuclear_level, f.conventional_level FROM facility_figure ff"
    " JOIN facility f ON f.id = ff.facility_id) AS facility_figure"
)
_USE_NAMES = [use.value for use in UseType]


def source(*, as_of: date | None, protection: bool = False) -> tuple[str, dict[str, Any]]:
    """The per-facility figures counted: maintained now, or rebuilt from the audit trail
    as they stood at the end of `as_of` (app/audit/states.py)."""
    if as_of is not None:
        return states.relation("facility_figure", _USE_NAMES), states.parameters(as_of)
    return (_WITH_PROTECTION if protection else "facility_figure"), {}


def figures(
    session: Session,
    where: StatsFilter,
    *,
    dimensions: list[str],
    restricted: bool,
    as_of: date | None = None,
    layer_id: int | None = None,
) -> str:
    """The JSON document {by, groups, total}: one group per value of the (at most two)
    `dimensions` (GROUP_KEYS), and their total. One scan: the total sums the groups.
    With `as_of`, the works as they stood then, and how many late registrations count;
    with `layer_id`, residents of the layer and shelter area and capacity per resident."""
    condition, params = where.where()
    relation, source_params = source(as_of=as_of, protection="protection_class" in dimensions)
    keys = [GROUP_KEYS[d] for d in dimensions]
    division = next((sql for name, sql in keys if name == "admin_code"), None)
    selects = [f"{sql} AS k{i}" for i, (_, sql) in enumerate(keys)]
    nulls = ["NULL" for _ in keys]
    aggregates = dict(AGGREGATES)
    aggregates["late_registrations"] = (
        "count(*) FILTER (WHERE late)" if as_of is not None else "0::bigint"
    )
    if as_of is not None:
        aggregates["open_findings"] = "NULL::numeric"
    columns = ",\n        ".join(f"{sql} AS {name}" for name, sql in aggregates.items())
    sums = ", ".join(
        "NULL" if as_of is not None and name == "open_findings" else f"coalesce(sum({name}), 0)"
        for name in aggregates
    )
    named = {name: f"r.k{i}" for i, (name, _) in enumerate(keys)}
    admin = named.get("admin_code", "NULL")
    key_docs = " || ".join(
        f"jsonb_build_object('{name}', {column})"
        for name, column in named.items()
        if name not in ("admin_code", "completion_year")
    )
    # Residents of the layer in the group's division, or in the filtered area when the
    # groups are not divisions (and for the total).
    area = in_division("p", where.level)
    in_area = (
        f"SELECT sum(p.residents) FROM population_feature p WHERE p.layer_id = :layer_id AND {area}"
    )
    in_group = f"{in_area} AND p.{division} = {admin}" if division else in_area
    order = ", ".join(f"k{i} NULLS LAST" for i in range(len(keys))) or "1"
    sql = f"""
WITH g AS (
    SELECT {", ".join(selects) or "NULL AS k"},
        {columns}
    FROM {relation}
    WHERE {condition}
    {"GROUP BY " + ", ".join(str(i + 1) for i in range(len(keys))) if keys else ""}
), rows AS (
    SELECT false AS is_total, * FROM g
    UNION ALL
    SELECT true, {", ".join(nulls) or "NULL"}, {sums} FROM g
), docs AS (
    SELECT r.is_total, {", ".join(f"r.k{i}" for i in range(len(keys))) or "r.k"},
        jsonb_build_object(
            'admin_code', {admin}, 'admin_name', d.name,
            'completion_year', {named.get("completion_year", "NULL")},
            'facilities', r.facilities,
            'building_area_m2', r.building_area_m2, 'shelter_area_m2', r.shelter_area_m2,
            'capacity_persons', r.capacity_persons, 'parking_spaces', r.parking_spaces,
            'ev_spaces', r.ev_spaces, 'charging_piles', r.charging_piles,
            'facilities_by_use', json_build_object({_USES}),
            'signage_standing', r.signage_standing, 'signage_complete', r.signage_complete,
            'signage_complete_share', round(r.signage_complete::numeric
                / nullif(r.signage_standing, 0), 4),
            'open_reports', r.open_reports
        ) || {key_docs or "'{}'::jsonb"}
          || CASE WHEN :restricted AND :current
                  THEN jsonb_build_object('open_maintenance_findings', r.open_findings)
                  ELSE '{{}}'::jsonb END
          || CASE WHEN :current THEN '{{}}'::jsonb
                  ELSE jsonb_build_object('late_registrations', r.late_registrations) END
          || CASE WHEN :per_capita THEN (
                SELECT jsonb_build_object('residents', n,
                    'shelter_area_per_resident_m2', round(r.shelter_area_m2 / nullif(n, 0), 3),
                    'capacity_per_resident', round(r.capacity_persons / nullif(n, 0), 3))
                FROM (SELECT CASE WHEN r.is_total THEN ({in_area}) ELSE ({in_group}) END AS n) x)
                  ELSE '{{}}'::jsonb END AS doc
    FROM rows r LEFT JOIN division d ON d.code = {admin}
)
SELECT json_build_object(
    'by', CAST(:by AS varchar[]),
    'groups', coalesce(json_agg(doc ORDER BY {order}) FILTER (WHERE NOT is_total AND :grouped), '[]'),
    'total', (array_agg(doc) FILTER (WHERE is_total))[1])::text
FROM docs
"""
    values = {
        **params,
        **source_params,
        "restricted": restricted,
        "current": as_of is None,
        "per_capita": layer_id is not None,
        "layer_id": layer_id,
        "by": dimensions,
        "grouped": bool(dimensions),
    }
    return session.execute(text(sql), values).scalar_one()


def parking_by_year(session: Session, where: StatsFilter, *, as_of: date | None = None) -> str:
    """The JSON array of car-park spaces by the completion year of their works, with the
    running total: the spaces each year's completions added. With `as_of`, the works and
    their car parks as they stood then, and per year the late registrations counted."""
    condition, params = where.where()
    relation, source_params = source(as_of=as_of, protection=False)
    late = "count(*) FILTER (WHERE late)" if as_of is not None else "NULL::bigint"
    sql = f"""
WITH y AS (
    SELECT completion_year AS year, count(*) AS car_parks, sum(parking_spaces) AS new_spaces,
        {late} AS late_registrations
    FROM {relation}
    WHERE {condition} AND parking_spaces > 0
    GROUP BY completion_year
), c AS (
    SELECT *, sum(new_spaces) OVER (ORDER BY year NULLS LAST) AS cumulative_spaces FROM y
)
SELECT coalesce(json_agg(jsonb_build_object(
    'year', year, 'car_parks', car_parks, 'new_spaces', new_spaces,
    'cumulative_spaces', cumulative_spaces) || CASE WHEN late_registrations IS NULL
        THEN '{{}}'::jsonb ELSE jsonb_build_object('late_registrations', late_registrations) END
    ORDER BY year NULLS LAST), '[]')::text
FROM c
"""
    return session.execute(text(sql), {**params, **source_params}).scalar_one()


def layer_exists(session: Session, layer_id: int) -> bool:
    return session.scalar(
        text("SELECT EXISTS (SELECT FROM population_layer WHERE id = :id)"), {"id": layer_id}
    )
