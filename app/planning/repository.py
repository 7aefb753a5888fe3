"""SQL for planning. Distances are metres on the WGS 84 ellipsoid (geography); every
radius search goes through the partial index of shelters on location::geography, and
coverage of points reads the nearest-shelter distances each point keeps."""

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import numpy as np
from sqlalchemy import delete, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from app.divisions import repository as divisions
from app.divisions.models import DivisionLevel
from app.planning.models import SHELTER_CONDITION, PopulationFeature, PopulationLayer
from app.planning.readers import PopulationRow
from app.shelters.status import FREE_PLACES, FRESH

# A rule over `facility` as (SQL text, its parameters): facilities.scope.visible_sql.
Condition = tuple[str, dict[str, Any]]
# GB 50038: about 1 m² of sheltering area per person.
AREA_NORM_M2 = 1.0


def _shelters(visible: Condition) -> str:
    """The shelters among the works a caller may see (its `visible` condition): a manager's
    analysis counts no restricted shelter outside its scope, nor shows one by its gaps."""
    return f"(SELECT * FROM facility WHERE {SHELTER_CONDITION} AND {visible[0]})"


def get_layer(session: Session, layer_id: int) -> PopulationLayer | None:
    return session.get(PopulationLayer, layer_id)


def layer_named(session: Session, name: str) -> PopulationLayer | None:
    return session.scalar(select(PopulationLayer).where(PopulationLayer.name == name))


def list_layers(session: Session) -> list[PopulationLayer]:
    return list(session.scalars(select(PopulationLayer).order_by(PopulationLayer.id)))


def known_codes(session: Session, codes: set[str]) -> set[str]:
    rows = session.execute(
        text("SELECT code FROM division WHERE code = ANY(:codes)"), {"codes": list(codes)}
    )
    return {row.code for row in rows}


def add_features(session: Session, layer_id: int, rows: list[PopulationRow]) -> None:
    session.execute(
        insert(PopulationFeature),
        [
            {
                "layer_id": layer_id,
                "row_no": row.row_no,
                "admin_code": row.admin_code,
                "residents": row.residents,
                "geom": row.ewkt,
            }
            for row in rows
        ],
    )
    # Each feature's division at every level: the finest loaded boundary that covers it
    # within its admin code (a city's code refined to its district by position), else
    # its admin code as given; features placed by neither stay unplaced.
    finest = divisions.finest_covering("ST_PointOnSurface(p.geom)", within="p.admin_code")
    session.execute(
        text(
            f"""
WITH placed AS (
    SELECT p.id,
        CASE WHEN given.level = 'district' THEN p.admin_code  -- nothing finer to find
             ELSE coalesce({finest}, p.admin_code) END AS code
    FROM population_feature p LEFT JOIN division given ON given.code = p.admin_code
    WHERE p.layer_id = :layer_id
), chain AS (
    SELECT placed.id, ARRAY[d1.level, d2.level, d3.level] AS levels,
        ARRAY[d1.code, d2.code, d3.code] AS codes
    FROM placed
    LEFT JOIN division d1 ON d1.code = placed.code
    LEFT JOIN division d2 ON d2.code = d1.parent_code
    LEFT JOIN division d3 ON d3.code = d2.parent_code
)
UPDATE population_feature p SET
    province_code = chain.codes[array_position(chain.levels, 'province')],
    city_code = chain.codes[array_position(chain.levels, 'city')],
    district_code = chain.codes[array_position(chain.levels, 'district')]
FROM chain WHERE chain.id = p.id
"""
        ),
        {"layer_id": layer_id},
    )


def delete_layer(session: Session, layer_id: int) -> None:
    session.execute(delete(PopulationLayer).where(PopulationLayer.id == layer_id))


# Which shelters a caller's coverage counts, as the visibility rule it was given says
# (facilities.scope.visible_clause): every one, the public ones, or the public ones and
# some restricted ones.
class Sees(StrEnum):
    every = "every"
    public = "public"
    some = "some"


# Whether a point is within :radius of a shelter the caller sees. Each point keeps its
# distance to the nearest shelter and to the nearest public one (population_feature,
# kept by triggers), so the radius costs nothing; a caller who sees some restricted
# shelters is decided by those two except where only a restricted one is in reach, and
# there by an index probe.
_POINT_COVERED = {
    Sees.every: "p.shelter_m <= :radius",
    Sees.public: "p.public_shelter_m <= :radius",
    Sees.some: """p.public_shelter_m <= :radius OR p.shelter_m <= :radius AND EXISTS (
            SELECT FROM {shelters} s
            WHERE ST_DWithin(s.location::geography, p.geom::geography, :radius))""",
}

# Per feature: its geometry and the residents within :radius of a shelter. A point counts
# whole or not at all, by the distances it keeps: one narrow pass over the layer's points,
# nothing built per point. An area (a division row without a geometry takes its loaded
# boundary) counts its share covered by the shelters' service circles, residents taken as
# spread evenly over it: only areas build the union of circles, which at kilometres of
# radius takes hundreds of shelters, once each however often `covered` is read.
_COVERED = """
WITH areas AS MATERIALIZED (
    SELECT p.id, p.row_no, p.residents, p.{group} AS code, g.geom, reach.circles,
        CASE
            WHEN g.geom IS NULL THEN NULL
            WHEN reach.circles IS NULL THEN 0
            ELSE p.residents * ST_Area(ST_Intersection(g.geom, reach.circles)::geography)
                / nullif(ST_Area(g.geom::geography), 0)
        END AS covered
    FROM population_feature p
    LEFT JOIN division d ON d.code = p.admin_code AND p.geom IS NULL
    CROSS JOIN LATERAL (SELECT coalesce(p.geom, d.boundary) AS geom) g
    LEFT JOIN LATERAL (
        SELECT ST_Union(ST_Buffer(s.location::geography, :radius)::geometry) AS circles
        FROM {shelters} s
        WHERE ST_DWithin(s.location::geography, g.geom::geography, :radius)
    ) reach ON true
    WHERE p.layer_id = :layer_id AND {where}
        AND p.point IS NOT TRUE
), c AS (
    SELECT p.id, p.row_no, p.residents, p.{group} AS code, p.geom, NULL::geometry AS circles,
        CASE WHEN {point_covered} THEN p.residents ELSE 0 END AS covered
    FROM population_feature p
    WHERE p.layer_id = :layer_id AND {where} AND p.point
    UNION ALL
    SELECT * FROM areas
)
"""


def _covered(group: str, where: str, visible: Condition, sees: Sees) -> str:
    shelters = _shelters(visible)
    return _COVERED.format(
        group=group,
        where=where,
        shelters=shelters,
        point_covered=_POINT_COVERED[sees].format(shelters=shelters),
    )


def _where(level: DivisionLevel | None, *, alert: bool = False) -> str:
    where = divisions.in_division("p", level)
    if alert:
        # The residents of an alert's area only.
        where += (
            " AND EXISTS (SELECT FROM alert_area r WHERE r.alert_id = :alert_id"
            " AND ST_Intersects(r.geom, p.geom))"
        )
    return where


@dataclass(frozen=True)
class Reach:
    """A layer's residents within `radius` of a shelter the caller sees (`visible`,
    `sees`), in the division `admin_code` at `level` (everywhere when None)."""

    layer_id: int
    visible: Condition
    sees: Sees
    radius: float
    level: DivisionLevel | None
    admin_code: str | None

    def covered(self, group: str) -> str:
        return _covered(group, _where(self.level), self.visible, self.sees)

    def params(self) -> dict[str, Any]:
        return {
            "layer_id": self.layer_id,
            "radius": self.radius,
            "admin_code": self.admin_code,
            **self.visible[1],
        }


def coverage(session: Session, reach: Reach, *, group: DivisionLevel) -> str:
    """The JSON document {areas, total}: per division at `group`, residents against
    shelter capacity, shelter area and the service radius."""
    column = divisions.CODE_COLUMN[group]
    shelters = _shelters(reach.visible)
    sql = (
        reach.covered(column)
        + f"""
, per_area AS (
    SELECT code, count(*) AS features, sum(residents) AS residents,
        sum(residents) FILTER (WHERE covered IS NOT NULL) AS located_residents,
        round(sum(covered)::numeric) AS covered_residents
    FROM c GROUP BY code
), shelters AS (
    SELECT {column} AS code, count(*) AS shelters,
        coalesce(sum(capacity_persons), 0) AS capacity, coalesce(sum(shelter_area), 0) AS area
    FROM {shelters} s WHERE {column} IN (SELECT code FROM per_area) GROUP BY 1
), rows AS (
    SELECT a.*, coalesce(s.shelters, 0) AS shelters, coalesce(s.capacity, 0) AS capacity,
        coalesce(s.area, 0) AS area
    FROM per_area a LEFT JOIN shelters s ON s.code = a.code
), docs AS (
    SELECT false AS is_total, code, features, residents, located_residents,
        covered_residents, shelters, capacity, area FROM rows
    UNION ALL
    SELECT true, NULL, sum(features), sum(residents), sum(located_residents),
        sum(covered_residents), sum(shelters), sum(capacity), sum(area) FROM rows
)
SELECT json_build_object(
    'areas', coalesce(json_agg(doc ORDER BY code NULLS LAST) FILTER (WHERE NOT is_total), '[]'),
    'total', (array_agg(doc) FILTER (WHERE is_total))[1])::text
FROM (
    SELECT docs.is_total, docs.code, json_build_object(
        'admin_code', docs.code, 'admin_name', d.name, 'features', features,
        'residents', residents, 'shelters', shelters, 'shelter_capacity', capacity,
        'capacity_per_resident', round(capacity / nullif(residents, 0), 3),
        'shelter_area_m2', area,
        'shelter_area_per_resident_m2', round(area / nullif(residents, 0), 3),
        'meets_area_norm', area / nullif(residents, 0) >= :norm,
        'located_residents', located_residents, 'covered_residents', covered_residents,
        'covered_share', round(covered_residents / nullif(located_residents, 0), 4)
    ) AS doc
    FROM docs LEFT JOIN division d ON d.code = docs.code
) x
"""
    )
    return session.execute(text(sql), {**reach.params(), "norm": AREA_NORM_M2}).scalar_one()


def uncovered(session: Session, reach: Reach) -> list[dict[str, Any]]:
    """Features with residents outside every shelter's service radius: the uncovered
    part of each (the point, or the area outside the circles) as GeoJSON, with the
    residents there and a representative point of it."""
    sql = (
        reach.covered("district_code")
        + """
, gap AS (
    SELECT id, row_no, code, residents - covered AS uncovered,
        CASE WHEN circles IS NULL THEN geom ELSE ST_Difference(geom, circles) END AS part
    FROM c WHERE covered < residents
)
SELECT id, row_no, code, round(uncovered)::int AS uncovered_residents,
    ST_AsGeoJSON(part, 7)::json AS geometry, ST_X(ST_PointOnSurface(part)) AS lon,
    ST_Y(ST_PointOnSurface(part)) AS lat
FROM gap WHERE NOT ST_IsEmpty(part) AND round(uncovered) > 0 ORDER BY id
"""
    )
    return [dict(row) for row in session.execute(text(sql), reach.params()).mappings()]


def blocks(
    session: Session,
    layer_id: int,
    *,
    level: DivisionLevel | None,
    admin_code: str | None,
    alert_id: int | None = None,
) -> list[dict[str, Any]]:
    """Population features with a place and residents, as blocks for assignment."""
    sql = f"""
SELECT p.id, p.row_no, p.residents FROM population_feature p
WHERE p.layer_id = :layer_id AND p.geom IS NOT NULL AND p.residents > 0
  AND {_where(level, alert=alert_id is not None)}
ORDER BY p.id
"""
    params = {"layer_id": layer_id, "admin_code": admin_code, "alert_id": alert_id}
    return [dict(row) for row in session.execute(text(sql), params).mappings()]


def candidate_pairs(
    session: Session,
    layer_id: int,
    *,
    visible: Condition,
    max_distance: float,
    level: DivisionLevel | None,
    admin_code: str | None,
    alert_id: int | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(block feature id, shelter facility id, metres) for every block and shelter with
    room within max_distance of each other; an area block stands at a point inside it."""
    sql = f"""
WITH b AS (
    SELECT p.id, ST_PointOnSurface(p.geom)::geography AS place
    FROM population_feature p
    WHERE p.layer_id = :layer_id AND p.geom IS NOT NULL AND p.residents > 0
      AND {_where(level, alert=alert_id is not None)}
)
SELECT b.id, s.id, ST_Distance(b.place, s.location::geography)
FROM b JOIN {_shelters(visible)} s
    ON ST_DWithin(s.location::geography, b.place, :max_distance) AND s.capacity_persons > 0
"""
    params = {
        "layer_id": layer_id,
        "max_distance": max_distance,
        "admin_code": admin_code,
        "alert_id": alert_id,
        **visible[1],
    }
    rows = session.execute(text(sql), params).all()
    if not rows:
        empty = np.empty(0, dtype=np.int64)
        return empty, empty, np.empty(0)
    block, shelter, metres = zip(*rows, strict=True)
    return np.array(block), np.array(shelter), np.array(metres, dtype=float)


def shelters(session: Session, ids: list[int], *, stale_after_s: int) -> list[dict[str, Any]]:
    """The shelters with the places an assignment may fill: the free places of a fresh
    status report (app.shelters.status), else the capacity."""
    sql = f"""
SELECT c.id, c.code, c.name, c.capacity_persons, s.state IS NOT NULL AND {FRESH} AS live,
       coalesce({FREE_PLACES}, c.capacity_persons) AS places
FROM facility c
LEFT JOIN LATERAL (
    SELECT s.state, s.persons_inside, s.observed_at FROM shelter_status s
    WHERE s.facility_id = c.id ORDER BY s.observed_at DESC LIMIT 1
) AS s ON true
WHERE c.id = ANY(:ids) ORDER BY c.id
"""
    params = {"ids": ids, "stale_after_s": stale_after_s}
    return [dict(row) for row in session.execute(text(sql), params).mappings()]
