"""The registry's rules over every staged row at once, as SQL: the cells of each column,
the rules across a row's fields (facilities.rules), the totals of protection units, and
the placing of each row in its divisions (divisions.service.resolve_divisions). Every
failure is a line of the import's error report."""

from collections.abc import Iterator

from sqlalchemy import (
    Connection,
    text,
)

from app.core import dates
from app.core.messages import Message
from app.divisions import repository as divisions
from app.divisions import rules as placing
from app.divisions.models import DivisionLevel
from app.facilities import rules
from app.facilities.models import ConventionalLevel, NuclearLevel
from app.imports import fields
from app.imports.fields import Column, Kind
from app.imports.typed import DATE_RE

# A protection class cell: class A or B (甲类, 乙类), then the nuclear and conventional
# levels in either order, each with an optional 级, apart or with a separator between.
_SEP = "[[:space:]/／、,，;；]*"
_NUCLEAR = "核[[:space:]]*[0-9][bB]?[[:space:]]*级?"
_CONVENTIONAL = "常[[:space:]]*[0-9][[:space:]]*级?"
PROTECTION_RE = (
    f"^(甲类|乙类)?{_SEP}(({_NUCLEAR})?{_SEP}({_CONVENTIONAL})?|{_CONVENTIONAL}{_SEP}{_NUCLEAR})$"
)
PROTECTION_MESSAGE = "is not a protection class: write e.g. 核6/常6, 核6常6, 乙类 常5 or 甲类核6级"

# Cells whose kind is a pattern: the API models' pattern and the importer's message.
_PATTERNS = {
    Kind.code: (rules.CODE_PATTERN, rules.CODE_MESSAGE),
    Kind.phone: (rules.PHONE_PATTERN, rules.PHONE_MESSAGE),
    Kind.admin_code: (rules.ADMIN_CODE_PATTERN, rules.ADMIN_CODE_MESSAGE),
}


def _checks(column: Column) -> list[tuple[str, str]]:
    """(value, reason) SQL pairs; the reason is NULL when the cell passes."""
    name = column.name
    cell = f"r.{name}"
    typed = f"t.{name}"
    reasons: list[str] = []
    if column.required:
        reasons.append(f"CASE WHEN {cell} IS NULL THEN 'is required' END")
    match column.kind:
        case Kind.text:
            reasons.append(
                f"CASE WHEN length({cell}) > {column.max_length} "
                f"THEN 'is longer than {column.max_length} characters' END"
            )
        case Kind.code | Kind.phone | Kind.admin_code:
            pattern, message = _PATTERNS[column.kind]
            reasons.append(f"CASE WHEN {cell} !~ '{pattern}' THEN {Message(message).sql()} END")
        case Kind.choice:
            assert column.choices is not None
            allowed = ", ".join(m.value for m in column.choices)
            reasons.append(
                f"CASE WHEN {cell} IS NOT NULL AND {typed} IS NULL "
                f"THEN 'is not one of: {allowed}' END"
            )
        case Kind.decimal | Kind.integer:
            what = "a number" if column.kind == Kind.decimal else "a whole number"
            low, high = int(column.low), int(column.high)
            reasons.append(
                f"CASE WHEN {cell} IS NOT NULL AND {typed} IS NULL THEN 'is not {what}' "
                f"WHEN {typed} NOT BETWEEN {low} AND {high} "
                f"THEN 'must be between {low} and {high}' END"
            )
        case Kind.timestamp:
            reasons.append(
                f"CASE WHEN {cell} IS NOT NULL AND {typed} IS NULL "
                "THEN 'is not a date and time' END"
            )
    return [(name, reason) for reason in reasons]


def _protection_check() -> str:
    """A protection class as ledgers write it (核6/常6, 核6常6, 乙类 常5, 甲类核6级): each
    part read or named as the reason, never dropped."""
    nuclear = "substring(r.protection from '核[[:space:]]*([0-9][bB]?)')"
    conventional = "substring(r.protection from '常[[:space:]]*([0-9])')"
    nuclear_levels = ", ".join(f"'{m.value}'" for m in NuclearLevel)
    conventional_levels = ", ".join(f"'{m.value}'" for m in ConventionalLevel)
    return (
        f"CASE WHEN r.protection IS NULL THEN NULL "
        f"WHEN r.protection !~ '{PROTECTION_RE}' "
        f"THEN '{PROTECTION_MESSAGE}' "
        f"WHEN {nuclear} IS NULL AND {conventional} IS NULL "
        "THEN 'names no protection level: write e.g. 核6/常6 or 常6' "
        f"WHEN upper({nuclear}) NOT IN ({nuclear_levels}) "
        f"THEN '核' || {nuclear} || ' is not a nuclear protection level: 4, 4B, 5, 6 or 6B' "
        f"WHEN {conventional} NOT IN ({conventional_levels}) "
        f"THEN '常' || {conventional} || ' is not a conventional weapon protection level: 5 or 6' "
        f"WHEN r.protection ~ '^乙类' AND {nuclear} IS NOT NULL "
        "THEN 'a class B (乙类) work has no nuclear protection level' END"
    )


def check_cells(connection: Connection, *, present: set[str], first: int, last: int) -> None:
    checks: list[tuple[str, str]] = []
    for column in fields.COLUMNS:
        if column.name in present:
            checks += _checks(column)
    if fields.PROTECTION in present:
        checks.append(("protection", _protection_check()))
    if fields.COMPLETION_DATE in present and "completion_year" not in present:
        earliest, latest = rules.COMPLETION_YEARS
        checks.append(
            (
                "completion_date",
                f"CASE WHEN r.completion_date !~ '{DATE_RE}' THEN 'is not a date' "
                f"WHEN t.completion_year NOT BETWEEN {earliest} AND {latest} "
                f"THEN 'must be between {earliest} and {latest}' END",
            )
        )
    if not checks:
        return
    values = ", ".join(f"('{name}', r.{name}, {reason})" for name, reason in checks)
    # The reasons once as one test per row, so that the rows of a clean file (nearly all
    # of them) skip the LATERAL that would turn each into 30 candidate error rows.
    any_reason = " OR ".join(f"({reason}) IS NOT NULL" for _, reason in checks)
    connection.execute(
        text(
            "INSERT INTO import_error (row_no, field, value, reason) "
            "SELECT r.row_no, v.field, v.value, v.reason FROM import_row r "
            "JOIN import_typed t ON t.row_no = r.row_no "
            f"CROSS JOIN LATERAL (VALUES {values}) AS v(field, value, reason) "
            "WHERE r.row_no BETWEEN :first AND :last AND t.row_no BETWEEN :first AND :last "
            f"AND ({any_reason}) AND v.reason IS NOT NULL"
        ),
        {"first": first, "last": last},
    )


def sum_units(connection: Connection, *, totals_given: set[str]) -> None:
    """Totals of facilities with protection units are their units' sums: a total the
    file gives must agree, a missing one is derived (as the API does)."""
    connection.execute(
        text(
            "CREATE TEMP TABLE import_unit_sum AS SELECT row_no, "
            "sum(shelter_area) AS shelter_area, sum(capacity_persons) AS capacity_persons "
            "FROM import_unit GROUP BY row_no"
        )
    )
    for total in ("shelter_area", "capacity_persons"):
        if total in totals_given:
            connection.execute(
                text(
                    "INSERT INTO import_error (row_no, field, value, reason) "
                    f"SELECT t.row_no, '{total}', CAST(t.{total} AS text), "
                    f"{rules.UNIT_TOTAL.sql(value=f'CAST(t.{total} AS text)', total=f'CAST(s.{total} AS text)')} "
                    "FROM import_typed t JOIN import_unit_sum s ON s.row_no = t.row_no "
                    f"WHERE t.{total} IS NOT NULL AND abs(t.{total} - s.{total}) > 0.005"
                )
            )
    # Only the rows whose totals differ: rewriting the rows that already agree (every
    # export gives its totals) costs time for nothing.
    connection.execute(
        text(
            "UPDATE import_typed t SET shelter_area = s.shelter_area, "
            "capacity_persons = s.capacity_persons FROM import_unit_sum s "
            "WHERE s.row_no = t.row_no AND (t.shelter_area, t.capacity_persons) "
            "IS DISTINCT FROM (s.shelter_area, s.capacity_persons)"
        )
    )


def _row_rules() -> list[tuple[str, str, str]]:
    """(field, value, reason) of the rules of a row's merged fields (the file's, else the
    stored facility's, as a PATCH merges them); the reason is NULL when the row passes."""
    whens = {
        "verified_at": [
            f"WHEN NOT ({dates.instant_range_sql('t.verified_at')}) THEN '{dates.INSTANT_MESSAGE}'"
        ]
    }
    for rule in rules.ROW_RULES:
        whens.setdefault(rule.field, []).append(rule.when_sql("t"))
    whens["code"] = [
        "WHEN t.deleted THEN 'belongs to a deleted facility; it is not revived by an import'"
    ]
    whens["location"] = [
        "WHEN t.location IS NULL AND NOT t.geometry_failed "
        "THEN 'is required: give lon and lat, WKT or a geometry'"
    ]
    return [
        (
            name,
            "NULL" if name == "location" else f"CAST(t.{name} AS text)",
            f"CASE {' '.join(w)} END",
        )
        for name, w in whens.items()
    ]


def check_rows(connection: Connection) -> None:
    """Rules across the fields of a row, the API's own (facilities.rules)."""
    row_rules = _row_rules()
    values = ", ".join(f"('{name}', {value}, {reason})" for name, value, reason in row_rules)
    # As in check_cells: clean rows skip the LATERAL.
    any_reason = " OR ".join(f"({reason}) IS NOT NULL" for _, _, reason in row_rules)
    connection.execute(
        text(
            "INSERT INTO import_error (row_no, field, value, reason) "
            "SELECT t.row_no, v.field, v.value, v.reason FROM import_typed t "
            f"CROSS JOIN LATERAL (VALUES {values}) AS v(field, value, reason) "
            f"WHERE ({any_reason}) AND v.reason IS NOT NULL"
        ),
        {k: v for rule in rules.ROW_RULES for k, v in rule.sql_params().items()},
    )
    # Every row of a code that appears more than once is named, with its companions.
    connection.execute(
        text(
            """
            INSERT INTO import_error (row_no, field, value, reason)
            SELECT row_no, 'code', code,
                   'appears ' || n || ' times in the file (rows ' || rows || ')'
            FROM (
                SELECT row_no, code, count(*) OVER w AS n,
                       string_agg(CAST(row_no AS text), ', ') OVER w AS rows
                FROM import_typed WHERE code IS NOT NULL
                WINDOW w AS (PARTITION BY code ORDER BY row_no
                             ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
            ) AS counted
            WHERE n > 1
            """
        )
    )


def resolve_divisions(connection: Connection, *, with_boundaries: bool) -> None:
    """divisions.service.resolve_divisions for every row at once, with its messages: the
    given code must be known and valid; where boundaries are loaded, the location derives
    finer divisions and must not contradict the given code."""
    if with_boundaries:
        # The points alone and in space order (PostGIS sorts geometries along a Hilbert
        # curve), so that the points of one boundary piece lie on a few pages together.
        # Districts first: the few points none covers (at sea, or where boundaries are
        # loaded only down to cities) are then tried against the coarser levels, rather
        # than testing every point against all three levels at once.
        district, coarser = DivisionLevel.district, (DivisionLevel.city, DivisionLevel.province)
        for statement in (
            "CREATE TEMP TABLE import_point AS SELECT row_no, location FROM import_typed "
            "WHERE location IS NOT NULL ORDER BY location",
            "CREATE INDEX ON import_point USING gist (location)",
            "CREATE TEMP TABLE import_deepest AS "
            f"{divisions.finest_covering_each('import_point', 'row_no', 'location', (district,))}",
            "CREATE TEMP TABLE import_point_left AS SELECT row_no, location FROM import_point p "
            "WHERE NOT EXISTS (SELECT FROM import_deepest d WHERE d.row_no = p.row_no)",
            "CREATE INDEX ON import_point_left USING gist (location)",
            "INSERT INTO import_deepest "
            f"{divisions.finest_covering_each('import_point_left', 'row_no', 'location', coarser)}",
        ):
            connection.execute(text(statement))
        found = "LEFT JOIN import_deepest AS deepest ON deepest.row_no = t.row_no"
    else:
        found = "LEFT JOIN (SELECT NULL::text AS code) AS deepest ON false"
    connection.execute(
        text(
            f"""
            CREATE TEMP TABLE import_place AS
            SELECT t.row_no, t.admin_code,
                   g0.code AS g_code, g0.name AS g_name, g0.level AS g_level,
                   g0.boundary IS NOT NULL AS g_bounded,
                   {divisions.valid_today("g0")} AS g_valid,
                   {_level_columns("g")},
                   {_level_columns("f")}
            FROM import_typed t
            LEFT JOIN division g0 ON g0.code = t.admin_code
            LEFT JOIN division g1 ON g1.code = g0.parent_code
            LEFT JOIN division g2 ON g2.code = g1.parent_code
            {found}
            LEFT JOIN division f0 ON f0.code = deepest.code
            LEFT JOIN division f1 ON f1.code = f0.parent_code
            LEFT JOIN division f2 ON f2.code = f1.parent_code
            WHERE NOT t.geometry_failed
            """
        )
    )
    connection.execute(
        text(
            f"""
            INSERT INTO import_error (row_no, field, value, reason)
            SELECT row_no, field, value, reason FROM (
                SELECT p.row_no,
                    CASE WHEN p.admin_code IS NOT NULL AND p.g_code IS NULL THEN 'admin_code'
                         WHEN p.g_code IS NOT NULL AND NOT p.g_valid THEN 'admin_code'
                         WHEN p.admin_code IS NULL AND p.f_province IS NULL
                              AND p.f_city IS NULL AND p.f_district IS NULL THEN 'admin_code'
                         WHEN p.g_bounded AND p.f_at_g IS DISTINCT FROM p.g_code THEN 'location'
                         WHEN p.contradiction IS NOT NULL THEN 'location'
                         WHEN coalesce(p.g_province, p.f_province) IS NULL THEN 'admin_code'
                    END AS field,
                    p.admin_code AS value,
                    CASE WHEN p.admin_code IS NOT NULL AND p.g_code IS NULL
                         THEN {placing.UNKNOWN_CODE.sql(admin_code="p.admin_code")}
                         WHEN p.g_code IS NOT NULL AND NOT p.g_valid
                         THEN {placing.NO_LONGER_VALID.sql(admin_code="p.admin_code")}
                         WHEN p.admin_code IS NULL AND p.f_province IS NULL
                              AND p.f_city IS NULL AND p.f_district IS NULL
                         THEN {placing.NOT_CONTAINED.sql()}
                         WHEN p.g_bounded AND p.f_at_g IS DISTINCT FROM p.g_code
                         THEN {_OUTSIDE}
                         WHEN p.contradiction IS NOT NULL THEN p.contradiction
                         WHEN coalesce(p.g_province, p.f_province) IS NULL
                         THEN {placing.NO_PROVINCE.sql()}
                    END AS reason
                FROM (
                    SELECT q.*,
                        CASE q.g_level WHEN 'province' THEN q.f_province
                            WHEN 'city' THEN q.f_city ELSE q.f_district END AS f_at_g,
                        CASE q.g_level WHEN 'province' THEN q.f_province_name
                            WHEN 'city' THEN q.f_city_name ELSE q.f_district_name END AS f_at_g_name,
                        CASE WHEN q.g_province <> q.f_province
                             THEN {_contradicts("province")}
                             WHEN q.g_city <> q.f_city
                             THEN {_contradicts("city")}
                             WHEN q.g_district <> q.f_district
                             THEN {_contradicts("district")}
                        END AS contradiction
                    FROM import_place q
                ) AS p
            ) AS checked
            WHERE reason IS NOT NULL
            """
        )
    )


def check_code_forms(connection: Connection) -> None:
    """facilities.rules.REGISTRY_CODE, as the API applies it: for a new work, and for a
    stored one the file moves to other divisions."""
    placed = {
        level: f"coalesce(p.g_{level}, p.f_{level})" for level in ("province", "city", "district")
    }
    problem = rules.REGISTRY_CODE.problem_sql(
        "t.code", placed["province"], placed["city"], placed["district"]
    )
    moved = " OR ".join(f"f.{level}_code IS DISTINCT FROM {placed[level]}" for level in placed)
    connection.execute(
        text(
            "INSERT INTO import_error (row_no, field, value, reason) "
            f"SELECT row_no, 'code', code, reason FROM (SELECT t.row_no, t.code, {problem} AS reason "
            "FROM import_typed t JOIN import_place p ON p.row_no = t.row_no "
            "LEFT JOIN facility f ON f.id = t.facility_id "
            f"WHERE t.code !~ :national_code AND (t.facility_id IS NULL OR {moved})) AS checked "
            "WHERE reason IS NOT NULL"
        ),
        rules.REGISTRY_CODE.params(),
    )


OUTSIDE_SCOPE = "lies outside this key's scope"


def check_scope(connection: Connection, *, admin_codes: list[str], facility_ids: list[int]) -> None:
    """A manager's import: each row's facility, as stored and as the file places it, must
    be in the key's scope (the facilities it names, or its divisions), as for the API's
    writes (facilities.scope.scope_clause)."""
    placed = " OR ".join(
        f"coalesce(p.g_{level}, p.f_{level}) = ANY(:codes)"
        for level in ("province", "city", "district")
    )
    stored = " OR ".join(
        f"f.{level}_code = ANY(:codes)" for level in ("province", "city", "district")
    )
    connection.execute(
        text(
            "INSERT INTO import_error (row_no, field, value, reason) "
            "SELECT t.row_no, 'code', t.code, :reason FROM import_typed t "
            "LEFT JOIN import_place p ON p.row_no = t.row_no "
            "LEFT JOIN facility f ON f.id = t.facility_id "
            "WHERE NOT t.geometry_failed AND NOT coalesce(t.facility_id = ANY(:ids), false) "
            f"AND (NOT coalesce({placed}, false) "
            f"OR (t.facility_id IS NOT NULL AND NOT coalesce({stored}, false)))"
        ),
        {"codes": list(admin_codes), "ids": list(facility_ids), "reason": OUTSIDE_SCOPE},
    )
    # A row refused for scope says nothing else: the checks before read the stored work
    # into it (a column the file lacks keeps the stored value), so their messages would
    # show the key a work it may not read ("gallery is required for a standalone work").
    connection.execute(
        text(
            "DELETE FROM import_error e WHERE e.reason <> :reason AND e.row_no IN "
            "(SELECT row_no FROM import_error WHERE reason = :reason)"
        ),
        {"reason": OUTSIDE_SCOPE},
    )


_OUTSIDE = placing.OUTSIDE.sql(
    name="p.g_name",
    code="p.g_code",
    where=f"coalesce({placing.OUTSIDE_WHERE.sql(name='p.f_at_g_name', code='p.f_at_g')}, '')",
)


def _contradicts(level: str) -> str:
    return placing.CONTRADICTS.sql(
        name=f"q.f_{level}_name", code=f"q.f_{level}", admin_code="q.admin_code"
    )


def _level_columns(prefix: str) -> str:
    parts = []
    for level in ("province", "city", "district"):
        for what, alias in (("code", level), ("name", f"{level}_name")):
            options = " ".join(
                f"WHEN {prefix}{i}.level = '{level}' THEN {prefix}{i}.{what}" for i in range(3)
            )
            parts.append(f"CASE {options} END AS {prefix}_{alias}")
    return ", ".join(parts)


def error_count(connection: Connection) -> tuple[int, int]:
    """(errors, rows with errors)."""
    row = connection.execute(
        text("SELECT count(*), count(DISTINCT row_no) FROM import_error")
    ).one()
    return int(row[0]), int(row[1])


def new_codes(connection: Connection) -> int:
    return int(
        connection.execute(
            text("SELECT count(*) FROM import_typed t WHERE t.facility_id IS NULL")
        ).scalar_one()
    )


def errors(connection: Connection) -> Iterator[tuple[int | None, str, str | None, str]]:
    result = connection.execute(
        text(
            "SELECT row_no, field, value, reason FROM import_error "
            "ORDER BY row_no NULLS FIRST, field, reason"
        ).execution_options(yield_per=10_000)
    )
    for row in result:
        yield row[0], row[1], row[2], row[3]
