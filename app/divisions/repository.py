from datetime import date

from sqlalchemy import ColumnElement, func, literal, or_, select
from sqlalchemy.orm import Session, aliased

from app.core.dates import TODAY_SQL
from app.divisions.models import Division, DivisionLevel, DivisionPart


def _valid_on(day: date):
    return or_(Division.valid_to.is_(None), Division.valid_to > day) & (Division.valid_from <= day)


# The column of a facility or population feature row that holds its division's code at
# each level (kept from its position by triggers). SQL names come from this table, never
# from input.
CODE_COLUMN = {
    DivisionLevel.province: "province_code",
    DivisionLevel.city: "city_code",
    DivisionLevel.district: "district_code",
}

# The column that groups rows by the divisions one level below a division's level (a
# district's by itself); with no division, by province.
BELOW_COLUMN = {
    None: "province_code",
    DivisionLevel.province: "city_code",
    DivisionLevel.city: "district_code",
    DivisionLevel.district: "district_code",
}


def in_division(alias: str, level: DivisionLevel | None) -> str:
    """SQL: row `alias` lies in the division :admin_code at `level`; everywhere when None."""
    return f"{alias}.{CODE_COLUMN[level]} = :admin_code" if level else "true"


def valid_today(alias: str) -> str:
    """SQL: division `alias` is in force on China's today."""
    return (
        f"{alias}.valid_from <= {TODAY_SQL} "
        f"AND ({alias}.valid_to IS NULL OR {alias}.valid_to > {TODAY_SQL})"
    )


_VALID_TODAY = valid_today("d")
_FINEST_FIRST = "CASE d.level WHEN 'district' THEN 0 WHEN 'city' THEN 1 ELSE 2 END"


def finest_covering(point: str, *, within: str | None = None) -> str:
    """SQL for the code of the finest division, valid today, whose loaded boundary covers
    `point` (an SQL expression, not naming `d` or `dp`), or NULL: for statements that
    place a few thousand rows at once. With `within` (an SQL expression for a division
    code, or NULL for any), only that division and those below it count: a row given a
    city's code is refined to the district it lies in, never moved to another city."""
    inside = ""
    if within is not None:
        inside = f"""
          AND ({within} IS NULL OR d.code = {within} OR d.parent_code = {within}
               OR d.parent_code IN (SELECT c.code FROM division c WHERE c.parent_code = {within}))"""
    return f"""(
        SELECT d.code FROM division_part dp JOIN division d ON d.code = dp.code
        WHERE ST_Covers(dp.part, {point}) AND {_VALID_TODAY}{inside}
        ORDER BY {_FINEST_FIRST}
        LIMIT 1)"""


def finest_covering_each(
    table: str, key: str, point: str, levels: tuple[DivisionLevel, ...]
) -> str:
    """SQL of the relation (key, code) that finest_covering gives for every row of
    `table` (by its columns `key` and `point`), for a million rows at once, among the
    divisions of `levels`: each boundary piece looks up the points it covers through the
    table's spatial index, so that one polygon is tested against its points in a row
    (PostGIS then prepares it once) rather than the polygons in turn against each point
    (ten times slower). Rows no boundary covers are absent."""
    return f"""(
        SELECT DISTINCT ON (x.{key}) x.{key}, d.code
        FROM division_part dp JOIN division d ON d.code = dp.code
        CROSS JOIN LATERAL (
            SELECT t.{key} FROM {table} t WHERE ST_Covers(dp.part, t.{point})
            OFFSET 0  -- keeps the planner from turning the loop round
        ) AS x
        WHERE {_VALID_TODAY} AND d.level IN ({", ".join(f"'{level}'" for level in levels)})
        ORDER BY x.{key}, {_FINEST_FIRST})"""


def get(session: Session, code: str) -> Division | None:
    return session.get(Division, code)


def get_valid(session: Session, code: str, *, on: date) -> Division | None:
    return session.scalars(select(Division).where(Division.code == code, _valid_on(on))).first()


def chain(session: Session, code: str) -> dict[DivisionLevel, Division]:
    """The division and its ancestors, keyed by level."""
    ancestor = aliased(Division)
    walk = select(Division.code).where(Division.code == code).cte(recursive=True)
    walk = walk.union_all(
        select(ancestor.parent_code)
        .join(walk, ancestor.code == walk.c.code)
        .where(ancestor.parent_code.is_not(None))
    )
    rows = session.scalars(select(Division).where(Division.code.in_(select(walk.c.code))))
    return {division.level: division for division in rows}


def containing(session: Session, point_ewkt: str, *, on: date) -> dict[DivisionLevel, Division]:
    """Divisions whose loaded boundary covers the point, keyed by level."""
    point = func.ST_GeomFromEWKT(literal(point_ewkt))
    covering = select(DivisionPart.code).where(func.ST_Covers(DivisionPart.part, point))
    rows = session.scalars(select(Division).where(Division.code.in_(covering), _valid_on(on)))
    return {division.level: division for division in rows}


def level_of(session: Session, code: str) -> DivisionLevel | None:
    return session.scalar(select(Division.level).where(Division.code == code))


def multipolygon(wkt: str) -> ColumnElement:
    """A boundary as stored: repaired if invalid, polygons only, always a MultiPolygon."""
    geom = func.ST_MakeValid(func.ST_GeomFromText(literal(wkt), 4326))
    return func.ST_Multi(func.ST_CollectionExtract(geom, 3))


def summaries(
    session: Session,
    *,
    code: str | None = None,
    parent_code: str | None = None,
    level: DivisionLevel | None = None,
) -> list[dict]:
    """Divisions without their boundaries, which can be megabytes each."""
    query = select(
        Division.code,
        Division.name,
        Division.level,
        Division.parent_code,
        Division.valid_from,
        Division.valid_to,
        Division.boundary.is_not(None).label("has_boundary"),
    ).order_by(Division.code)
    if code is not None:
        query = query.where(Division.code == code)
    if parent_code is not None:
        query = query.where(Division.parent_code == parent_code)
    if level is not None:
        query = query.where(Division.level == level)
    return [dict(row._mapping) for row in session.execute(query)]
