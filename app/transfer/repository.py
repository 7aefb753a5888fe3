"""SQL for imports and exports.

Imports are set-based: rows are COPYed as text into temporary staging tables, checked
there by a handful of statements that each pass over all rows at once, and upserted by
registry code in one INSERT ... ON CONFLICT. Nothing goes through the ORM row by row.
Column names in the statements below come from `fields.COLUMNS`, never from a file;
every value read from a file travels as a bound parameter or through COPY."""

import io
import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any, NamedTuple

import psycopg
from psycopg.copy import LibpqWriter
from sqlalchemy import (
    ColumnElement,
    Connection,
    Float,
    Text,
    and_,
    case,
    cast,
    func,
    literal_column,
    select,
    text,
)

from app.core import dates
from app.core.messages import Message
from app.divisions import repository as divisions
from app.divisions import rules as placing
from app.divisions.models import DivisionLevel
from app.facilities import rules
from app.facilities.models import RESTRICTED_FUNCTIONS, Facility
from app.facilities.repository import (
    PLAIN_COLUMNS,
    entrances_json,
    geojson,
    json_object,
    protection_units_json,
)
from app.transfer import fields
from app.transfer.fields import Column, Kind

# --- export ---------------------------------------------------------------------------

# Row timestamps and the concurrency version belong to one database: two exports of the
# same data from two databases must be the same file.
EXPORT_PLAIN = tuple(c for c in PLAIN_COLUMNS if c not in ("created_at", "updated_at", "version"))
_ADMIN_CODE = func.coalesce(Facility.district_code, Facility.city_code, Facility.province_code)
EXPORT_SCALARS: tuple[tuple[str, ColumnElement], ...] = (
    ("code", Facility.code),
    ("name", Facility.name),
    ("address", Facility.address),
    ("admin_code", _ADMIN_CODE),
    ("province_code", Facility.province_code),
    ("city_code", Facility.city_code),
    ("district_code", Facility.district_code),
    *((name, getattr(Facility, name)) for name in EXPORT_PLAIN),
)
CSV_HEADER = (
    *(name for name, _ in EXPORT_SCALARS),
    "lon",
    "lat",
    fields.FOOTPRINT,
    fields.ENTRANCES,
    fields.UNITS,
)


def export_snapshot(connection: Connection) -> None:
    connection.execute(text("SET LOCAL TimeZone = 'UTC'"))


def _ordered(query: Any, where: Any) -> Any:
    return query.where(*where.clauses()).order_by(Facility.code)


def _partitions(connection: Connection, query: Any, chunk: int) -> Iterator[list]:
    # On the statement: Connection.execution_options would change the connection in place.
    result = connection.execute(query.execution_options(yield_per=chunk))
    try:
        yield from result.partitions()
    finally:
        result.close()


def export_features(connection: Connection, where: Any, chunk: int) -> Iterator[list[str]]:
    """GeoJSON Feature texts, built by PostgreSQL, in chunks."""
    properties = [
        *EXPORT_SCALARS,
        (fields.FOOTPRINT, geojson(Facility.footprint)),
        (fields.ENTRANCES, entrances_json(with_ids=False)),
        (fields.UNITS, protection_units_json(with_ids=False)),
    ]
    feature = func.json_build_object(
        "type",
        "Feature",
        "geometry",
        geojson(Facility.location),
        "properties",
        json_object(properties),
    )
    query = _ordered(select(cast(feature, Text)), where)
    for part in _partitions(connection, query, chunk):
        yield [row[0] for row in part]


def export_rows_as_text(connection: Connection, where: Any, chunk: int) -> Iterator[list[tuple]]:
    """CSV cells in PostgreSQL's own text forms, so numbers and times print as stored."""
    columns = [
        *(cast(value, Text) for _, value in EXPORT_SCALARS),
        cast(func.ST_X(Facility.location), Text),
        cast(func.ST_Y(Facility.location), Text),
        func.ST_AsGeoJSON(Facility.footprint, 7),
        cast(entrances_json(with_ids=False), Text),
        cast(protection_units_json(with_ids=False), Text),
    ]
    yield from _partitions(connection, _ordered(select(*columns), where), chunk)


def arrow_schema() -> Any:
    import pyarrow as pa

    types = {
        Kind.decimal: pa.float64(),
        Kind.integer: pa.int32(),
        Kind.timestamp: pa.timestamp("us", tz="UTC"),
    }
    geometry = pa.field("geometry", pa.binary(), metadata={"ARROW:extension:name": "ogc.wkb"})
    return pa.schema(
        [
            geometry,
            *(
                pa.field(name, types.get(fields.BY_NAME[name].kind, pa.string()))
                if name in fields.BY_NAME
                else pa.field(name, pa.string())
                for name, _ in EXPORT_SCALARS
            ),
            pa.field(fields.FOOTPRINT, pa.string()),
            pa.field(fields.ENTRANCES, pa.string()),
            pa.field(fields.UNITS, pa.string()),
        ]
    )


# GeoPackage and FlatGeobuf hold times as ISO 8601 text to the millisecond. A time outside
# years 1 to 9999, which only a row written before the range check can hold (see
# core.dates), has no such text, nor a Python value: it is left empty in those files
# (GeoJSON and CSV print it as PostgreSQL does). Finer times are cut to the millisecond:
# GDAL rounds 23:59:59.9999 up to the second 23:59:60.
_ISO_YEARS = (
    literal_column("TIMESTAMPTZ '0001-01-01 00:00:00+00'"),
    literal_column("TIMESTAMPTZ '10000-01-01 00:00:00+00'"),
)


def _gis_time(value: ColumnElement) -> ColumnElement:
    first, end = _ISO_YEARS
    return case(
        (and_(value >= first, value < end), func.date_trunc("milliseconds", value)),
        else_=None,
    )


def export_columns(connection: Connection, where: Any, chunk: int) -> Iterator[list[list]]:
    """Typed columns for GDAL, one list per field, in chunks."""

    def typed(name: str, value: ColumnElement) -> ColumnElement:
        kind = fields.BY_NAME[name].kind if name in fields.BY_NAME else Kind.text
        if kind == Kind.decimal:
            return cast(value, Float)
        return _gis_time(value) if kind == Kind.timestamp else value

    columns = [
        func.ST_AsBinary(Facility.location),
        *(typed(name, value) for name, value in EXPORT_SCALARS),
        func.ST_AsGeoJSON(Facility.footprint, 7),
        cast(entrances_json(with_ids=False), Text),
        cast(protection_units_json(with_ids=False), Text),
    ]
    for part in _partitions(connection, _ordered(select(*columns), where), chunk):
        values = [list(column) for column in zip(*part, strict=True)]
        values[0] = [bytes(wkb) for wkb in values[0]]
        # Enum columns arrive as str subclasses; Arrow wants plain text.
        yield [
            [None if v is None else str(v) for v in column]
            if column and isinstance(next((v for v in column if v is not None), None), str)
            else column
            for column in values
        ]


def probe(connection: Connection, where: Any) -> None:
    connection.execute(select(Facility.id).where(*where.clauses()).limit(1))


def count(connection: Connection, where: Any) -> int:
    return int(
        connection.execute(
            select(func.count()).select_from(Facility).where(*where.clauses())
        ).scalar_one()
    )


# --- import: staging --------------------------------------------------------------------


# The staging tables live in the server session's own buffers, 8 MB unless set when the
# session starts: a million staged rows (2 GB) were written out and read back at every
# step. With room for them, 1M rows 301 -> 278 s. The buffers are taken as needed and
# kept until the session ends, so the CLI, whose session ends with the import, sets this
# (see transfer.commands); the API's pooled sessions, which run import jobs, do not.
TEMP_BUFFERS = "2GB"


def create_staging(connection: Connection) -> None:
    """Temporary tables of this connection; dropped first, so that one connection may
    run several imports in one transaction (a dry run followed by the real one)."""
    staged = ", ".join(f"{name} text" for name in fields.STAGED)
    # Points arrive as lon/lat numbers, which Arrow writes and PostgreSQL reads back bit
    # for bit: made here, they spare Python a geometry object and its EWKB per point.
    point = (
        "lon float8, lat float8, location geometry(Point, 4326) "
        "GENERATED ALWAYS AS (ST_SetSRID(ST_MakePoint(lon, lat), 4326)) STORED"
    )
    for statement in (
        # JIT compiling the typing statement's hundreds of expressions costs more than it
        # saves: typing a million rows took 44 s with it, 35-41 s without. Until commit.
        "SET LOCAL jit = off",
        # Hashes and sorts of a batch, and of the staged rows as a whole, in memory.
        "SET LOCAL work_mem = '256MB'",
        "DROP TABLE IF EXISTS import_row, import_entrance, import_unit, import_error, "
        "import_typed, import_unit_sum, import_point, import_deepest, import_point_left, "
        "import_place, import_child_change, import_written",
        f"CREATE TEMP TABLE import_row (row_no integer NOT NULL, {staged}, {point}, "
        "footprint geometry(Geometry, 4326), geometry_failed boolean NOT NULL DEFAULT false)",
        # Batches are typed as they arrive (type_rows), each found by its row numbers.
        "CREATE INDEX ON import_row (row_no)",
        "CREATE TEMP TABLE import_entrance (row_no integer NOT NULL, seq integer NOT NULL, "
        f"kind text NOT NULL, accessible boolean NOT NULL, name text, {point})",
        "CREATE TEMP TABLE import_unit (row_no integer NOT NULL, seq integer NOT NULL, "
        "name text NOT NULL, shelter_area numeric(12, 2) NOT NULL, "
        "capacity_persons integer NOT NULL)",
        "CREATE TEMP TABLE import_error (row_no integer, field text NOT NULL, value text, "
        "reason text NOT NULL)",
        # Timestamps in every form an office writes them; an unparsable one is NULL, not
        # an error that would stop the whole statement. A time without a zone is Beijing
        # time, which is what spreadsheets from Chinese offices mean.
        """CREATE OR REPLACE FUNCTION pg_temp.rf_timestamptz(value text) RETURNS timestamptz
        LANGUAGE plpgsql STABLE STRICT AS $$
        BEGIN
            IF value ~ '(Z|z|[+-][0-9]{2}(:?[0-9]{2})?)$' THEN
                RETURN value::timestamptz;
            END IF;
            RETURN value::timestamp AT TIME ZONE 'Asia/Shanghai';
        EXCEPTION WHEN others THEN
            RETURN NULL;
        END $$""",
    ):
        connection.execute(text(statement))


def _raw(connection: Connection) -> psycopg.Connection:
    return connection.connection.driver_connection  # type: ignore[return-value]


def add_errors(connection: Connection, errors: Iterable[tuple]) -> None:
    """Adds (row, field, value, reason) lines to the import's error report. A NUL
    character, which text cannot hold, is shown as ␀ (a cell quoted as it was read may
    have one)."""
    statement = "COPY import_error (row_no, field, value, reason) FROM STDIN"
    with _raw(connection).cursor() as cursor, cursor.copy(statement) as copy:
        for row, *texts in errors:
            copy.write_row((row, *(t and t.replace("\x00", "␀") for t in texts)))


class CsvCopy(NamedTuple):
    """An Arrow table written as CSV by Arrow's C++ writer, ready for COPY: nulls go out
    as empty fields, empty strings as \"\", which COPY reads as NULL and '' respectively.
    Made by the import's reading thread, so that the connection's thread only sends."""

    columns: tuple[str, ...]
    data: bytes

    @classmethod
    def of(cls, table: Any) -> "CsvCopy":
        import pyarrow.csv as pacsv

        buffer = io.BytesIO()
        pacsv.write_csv(table, buffer, pacsv.WriteOptions(include_header=False, batch_size=8192))
        return cls(tuple(table.column_names), buffer.getvalue())

    @property
    def has_nul(self) -> bool:
        """Whether a cell holds a NUL character, which text cannot hold (and COPY rejects)."""
        return b"\x00" in self.data


class _LargeChunks(LibpqWriter):
    """Sends COPY data to libpq 8 MB at a time. psycopg hands it over 128 KB at a time,
    taking the GIL back for each piece; with the import's reading thread busy in Python,
    each of those waits its turn, and a batch took three times as long to send. Uses
    LibpqWriter's own _put (psycopg 3.1 and later), which the import tests exercise."""

    CHUNK = 8 << 20

    def write(self, data: Any) -> None:
        for start in range(0, len(data), self.CHUNK):
            self._put(data[start : start + self.CHUNK])


def copy_csv(connection: Connection, table: str, rows: CsvCopy) -> None:
    assert table in ("import_row", "import_entrance", "import_unit")
    statement = f"COPY {table} ({', '.join(rows.columns)}) FROM STDIN WITH (FORMAT csv)"
    with (
        _raw(connection).cursor() as cursor,
        cursor.copy(statement, writer=_LargeChunks(cursor)) as copy,
    ):
        copy.write(rows.data)


def boundaries_loaded(connection: Connection) -> bool:
    return bool(
        connection.execute(
            text("SELECT EXISTS (SELECT FROM division WHERE boundary IS NOT NULL)")
        ).scalar()
    )


# --- import: typing and checking ---------------------------------------------------------

# The SQL below reads the staged cells as they come: trimmed of spaces, and NULL where
# empty (service._StagedBatch).
# Thousands separators, spaces and the units offices type into number cells.
_NUMBER = "regexp_replace(r.{name}, '[,，\\s]|(㎡|m²|m2|平方米|平米|人|个|小时|h)$', '', 'g')"
# Plain numbers, nearly all cells, are read as they are: one pattern test and a cast,
# where a cleaned-up cell costs the replacement, a second test and two casts.
_PLAIN_INTEGER_RE = "^[0-9]{1,12}$"
_PLAIN_DECIMAL_RE = "^[0-9]{1,12}([.][0-9]{1,12})?$"
# A decimal number, in the cells of number columns and of lon/lat (service._decimals).
# Bounded, so that every match casts to numeric and compares as a double; the range is
# each column's check.
DECIMAL_RE = "^[+-]?([0-9]{1,30}[.]?[0-9]{0,30}|[.][0-9]{1,30})([eE][+-]?[0-9]{1,2})?$"
_INTEGER_RE = "^[+-]?[0-9]{1,12}([.]0*)?$"
_DATE_RE = (
    "^([0-9]{4})([-/.年](0?[1-9]|1[0-2])([-/.月](0?[1-9]|[12][0-9]|3[01])日?)?月?)?([ T][0-9:.]+)?$"
)
# An ISO date and time that is valid for certain (no 30 February, no hour 24), with or
# without a zone. Such cells, nearly all, are cast as they are; the rest go through
# pg_temp.rf_timestamptz, whose EXCEPTION block costs a subtransaction per call (5 s
# a million cells).
_ISO_DAY = (
    "[12][0-9]{3}-((0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])|(0[13-9]|1[0-2])-(29|30)"
    "|(0[13578]|1[02])-31)"
)
_ISO_TIME = "[ T]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9]([.][0-9]{1,6})?)?"
_LOCAL_TIME_RE = f"^{_ISO_DAY}{_ISO_TIME}$"
_ZONED_TIME_RE = f"^{_ISO_DAY}{_ISO_TIME}(Z|z|[+-](0[0-9]|1[0-4])(:?[0-5][0-9])?)$"


def _typed(column: Column) -> str:
    """The SQL of a column's typed value, NULL where the cell does not parse."""
    cell = f"r.{column.name}"
    # Cleaned up in the LATERAL of _typed_select, only for cells that are not plain.
    number = f"n.{column.name}"
    match column.kind:
        case Kind.choice:
            return f"(CAST(:choices AS jsonb) -> '{column.name}') ->> lower({cell})"
        case Kind.decimal:
            return (
                f"CASE WHEN {cell} ~ '{_PLAIN_DECIMAL_RE}' THEN round(CAST({cell} AS numeric), 2) "
                f"WHEN {number} ~ '{DECIMAL_RE}' THEN round(CAST({number} AS numeric), 2) END"
            )
        case Kind.integer:
            return (
                f"CASE WHEN {cell} ~ '{_PLAIN_INTEGER_RE}' THEN CAST({cell} AS bigint) "
                f"WHEN {number} ~ '{_INTEGER_RE}' THEN CAST(CAST({number} AS numeric) AS bigint) END"
            )
        case Kind.timestamp:
            return (
                f"CASE WHEN {cell} ~ '{_LOCAL_TIME_RE}' "
                f"THEN CAST({cell} AS timestamp) AT TIME ZONE 'Asia/Shanghai' "
                f"WHEN {cell} ~ '{_ZONED_TIME_RE}' THEN CAST({cell} AS timestamptz) "
                f"ELSE pg_temp.rf_timestamptz({cell}) END"
            )
        case _:
            return cell


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


def _typed_select(present: set[str]) -> str:
    """import_typed's rows: every field typed, merged with the stored facility of the
    same code for the fields the file does not carry."""
    selects = ["r.row_no", "f.id AS facility_id", "f.deleted_at IS NOT NULL AS deleted"]
    for column in fields.COLUMNS:
        name = column.name
        if name == "admin_code":
            stored = "coalesce(f.district_code, f.city_code, f.province_code)"
        else:
            stored = f"f.{name}"
        if name in present:
            value = _typed(column)
        elif name == "nuclear_level" and fields.PROTECTION in present:
            value = (
                "(CAST(:choices AS jsonb) -> 'nuclear_level') ->> "
                "lower(substring(r.protection from '核\\s*([0-9][bB]?)'))"
            )
        elif name == "conventional_level" and fields.PROTECTION in present:
            value = (
                "(CAST(:choices AS jsonb) -> 'conventional_level') ->> "
                "substring(r.protection from '常\\s*([0-9])')"
            )
        elif name == "completion_year" and fields.COMPLETION_DATE in present:
            value = f"CAST(substring(r.completion_date from '{_DATE_RE}') AS integer)"
        else:
            value = stored
        cast_to = {
            Kind.decimal: "numeric",
            Kind.integer: "bigint",
            Kind.timestamp: "timestamptz",
        }.get(column.kind, "text")
        selects.append(f"CAST({value} AS {cast_to}) AS {name}")
    selects += [
        "coalesce(r.location, f.location) AS location",
        "CASE WHEN :footprint_given THEN r.footprint ELSE f.footprint END AS footprint",
        "r.geometry_failed",
    ]
    numbers = [
        f"{_NUMBER.format(name=c.name)} AS {c.name}"
        for c in fields.COLUMNS
        if c.kind in (Kind.decimal, Kind.integer) and c.name in present
    ] or ["NULL AS nothing"]
    return (
        "SELECT "
        + ", ".join(selects)
        + " FROM import_row r LEFT JOIN facility f ON f.code = r.code"
        + f" CROSS JOIN LATERAL (SELECT {', '.join(numbers)}) AS n"
    )


def _typed_params(present: set[str], choices: dict[str, Any]) -> dict[str, Any]:
    return {
        "choices": json.dumps(choices),
        "footprint_given": bool(present & {fields.FOOTPRINT, fields.WKT, "geometry"}),
    }


def create_typed(connection: Connection, *, present: set[str], choices: dict[str, Any]) -> None:
    """An empty import_typed, for the columns the file has, before its rows are read."""
    connection.execute(
        text(f"CREATE TEMP TABLE import_typed AS {_typed_select(present)} WITH NO DATA"),
        _typed_params(present, choices),
    )
    connection.execute(text("CREATE INDEX ON import_typed (row_no)"))


def type_rows(
    connection: Connection, *, present: set[str], choices: dict[str, Any], first: int, last: int
) -> None:
    """Types and checks the staged rows numbered first to last, while the file's next
    batches are read: the server, idle for two thirds of the reading, does it alongside
    (1M rows: reading 52 s, then typing 39 s and checking 18 s, before this)."""
    connection.execute(
        text(
            f"INSERT INTO import_typed {_typed_select(present)} "
            "WHERE r.row_no BETWEEN :first AND :last"
        ),
        _typed_params(present, choices) | {"first": first, "last": last},
    )
    _check_cells(connection, present=present, first=first, last=last)


def analyze_typed(connection: Connection) -> None:
    # Row counts and the join keys are all the plans below need; statistics on thirty
    # text columns would cost a second per 100,000 rows.
    connection.execute(text("ANALYZE import_typed (row_no, code, facility_id)"))


def _check_cells(connection: Connection, *, present: set[str], first: int, last: int) -> None:
    checks: list[tuple[str, str]] = []
    for column in fields.COLUMNS:
        if column.name in present:
            checks += _checks(column)
    if fields.PROTECTION in present:
        checks.append(
            (
                "protection",
                "CASE WHEN r.protection IS NOT NULL "
                "AND t.nuclear_level IS NULL AND t.conventional_level IS NULL "
                "THEN 'names no protection level: write e.g. 核6/常6 or 常6' END",
            )
        )
    if fields.COMPLETION_DATE in present and "completion_year" not in present:
        earliest, latest = rules.COMPLETION_YEARS
        checks.append(
            (
                "completion_date",
                f"CASE WHEN r.completion_date !~ '{_DATE_RE}' THEN 'is not a date' "
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
    # Only the rows whose totals differ: rewriting a million rows that already agree
    # (every export gives its totals) took 5 s.
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
    # As in _check_cells: clean rows skip the LATERAL.
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


def place(connection: Connection, *, with_boundaries: bool) -> None:
    """divisions.service.place for every row at once, with its messages: the given code must
    be known and valid; where boundaries are loaded, the location derives finer divisions
    and must not contradict the given code."""
    if with_boundaries:
        # The points alone and in space order (PostGIS sorts geometries along a Hilbert
        # curve), so that the points of one boundary piece lie on a few pages together.
        # Districts first: the few points none covers (at sea, or where boundaries are
        # loaded only down to cities) are then tried against the coarser levels. Testing
        # every point against all three levels at once took 6.8 s a million, 2.7 s this way.
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
                   g0.valid_from <= current_date
                       AND (g0.valid_to IS NULL OR g0.valid_to > current_date) AS g_valid,
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


# --- import: writing ---------------------------------------------------------------------

WRITTEN = tuple(c.name for c in fields.COLUMNS if c.name != "admin_code") + (
    "province_code",
    "city_code",
    "district_code",
    "location",
    "footprint",
)


def find_child_changes(connection: Connection, *, entrances: bool, units: bool) -> None:
    """Codes of stored facilities whose entrances or units the file changes: compared as
    ordered lists, so the same file twice finds nothing to change."""
    parts = []
    if entrances:
        parts.append(
            """
            SELECT t.code, 'entrances' AS part FROM import_typed t
            LEFT JOIN (SELECT facility_id, string_agg(concat_ws('|', kind, accessible, name,
                              encode(ST_AsEWKB(location), 'hex')), ';' ORDER BY id) AS list
                       FROM entrance WHERE facility_id IN (SELECT facility_id FROM import_typed)
                       GROUP BY facility_id) old ON old.facility_id = t.facility_id
            LEFT JOIN (SELECT row_no, string_agg(concat_ws('|', kind, accessible, name,
                              encode(ST_AsEWKB(location), 'hex')), ';' ORDER BY seq) AS list
                       FROM import_entrance GROUP BY row_no) new ON new.row_no = t.row_no
            WHERE t.facility_id IS NOT NULL AND old.list IS DISTINCT FROM new.list
            """
        )
    if units:
        parts.append(
            """
            SELECT t.code, 'protection_units' AS part FROM import_typed t
            LEFT JOIN (SELECT facility_id, string_agg(concat_ws('|', name, shelter_area,
                              capacity_persons), ';' ORDER BY id) AS list
                       FROM protection_unit
                       WHERE facility_id IN (SELECT facility_id FROM import_typed)
                       GROUP BY facility_id) old ON old.facility_id = t.facility_id
            LEFT JOIN (SELECT row_no, string_agg(concat_ws('|', name, shelter_area,
                              capacity_persons), ';' ORDER BY seq) AS list
                       FROM import_unit GROUP BY row_no) new ON new.row_no = t.row_no
            WHERE t.facility_id IS NOT NULL AND old.list IS DISTINCT FROM new.list
            """
        )
    body = (
        " UNION ALL ".join(parts)
        if parts
        else "SELECT NULL::text AS code, NULL::text AS part WHERE false"
    )
    connection.execute(text(f"CREATE TEMP TABLE import_child_change AS {body}"))


# A first load of this many rows or more into an empty table builds the table's plain
# indexes and checks its foreign keys once, after the rows are in.
BULK_ROWS = 50_000


@contextmanager
def built_after(connection: Connection, table: str, rows: int) -> Iterator[bool]:
    """Writes into `table` with its indexes that back no constraint, and its foreign
    keys, taken off and put back once the rows are in: when the table is empty, the
    import brings at least BULK_ROWS rows, and this role owns the table (as pg_restore
    does). A million facilities then cost one sorted build per index and one join per
    key instead of a million index insertions and three million key lookups. The table
    stays locked against readers until commit, which an empty table's readers do not
    miss; a registry already in use never takes this path. Yields whether it was taken:
    the table then stays empty for anyone else until the rows are in."""
    assert table in ("facility", "facility_figure", "entrance", "protection_unit")
    if (
        rows < BULK_ROWS
        or not connection.execute(
            text(
                f"SELECT pg_has_role(relowner, 'USAGE') AND NOT EXISTS (SELECT FROM {table}) "
                "FROM pg_class WHERE oid = CAST(:table AS regclass)"
            ),
            {"table": table},
        ).scalar()
    ):
        yield False
        return
    connection.execute(text(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE"))
    indexes = connection.execute(
        text(
            "SELECT CAST(CAST(indexrelid AS regclass) AS text), pg_get_indexdef(indexrelid) "
            "FROM pg_index "
            "WHERE indrelid = CAST(:table AS regclass) "
            "AND NOT EXISTS (SELECT FROM pg_constraint WHERE conindid = indexrelid)"
        ),
        {"table": table},
    ).all()
    keys = connection.execute(
        text(
            "SELECT quote_ident(conname), pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = CAST(:table AS regclass) AND contype = 'f'"
        ),
        {"table": table},
    ).all()
    for name, _ in indexes:
        connection.execute(text(f"DROP INDEX {name}"))
    for name, _ in keys:
        connection.execute(text(f"ALTER TABLE {table} DROP CONSTRAINT {name}"))
    yield True
    connection.execute(text("SET LOCAL maintenance_work_mem = '512MB'"))
    for _, definition in indexes:
        connection.execute(text(definition))
    for name, definition in keys:
        connection.execute(text(f"ALTER TABLE {table} ADD CONSTRAINT {name} {definition}"))


def reserve_ids(connection: Connection) -> int:
    """Takes a block of facility ids for the staged rows and returns its base: the row
    numbered n gets id base + n. Only while facility is locked (see built_after): every
    writer of facility takes its lock on the table before its ids (an INSERT's own, the
    demo loader's explicitly), so none takes an id between the two calls here."""
    return connection.execute(
        text(
            "SELECT setval(seq, nextval(seq) + last - first) - last "
            "FROM (SELECT min(row_no) AS first, max(row_no) AS last FROM import_typed) AS span, "
            "CAST(pg_get_serial_sequence('facility', 'id') AS regclass) AS seq"
        )
    ).scalar_one()


def upsert(connection: Connection, *, id_base: int | None) -> tuple[int, int]:
    """(inserted, updated). Rows equal to the stored facility are not touched: their
    updated_at stays, and they count as unchanged. With id_base (see reserve_ids), the
    table is known to be empty and locked (see built_after): nothing can conflict, and a
    plain INSERT spares each row the speculative insertion of ON CONFLICT (1M rows:
    11-12 s -> 7.4 s)."""
    # The trigram index (GIN) takes many rows faster from a large pending list merged at
    # once: 17 % off inserting 200,000 facilities. The list is merged below, before
    # commit, so that no search has to read through it. The setting ends with the
    # import's transaction.
    connection.execute(text("SET LOCAL gin_pending_list_limit = '256MB'"))
    names = WRITTEN if id_base is None else ("id", *WRITTEN)
    values = ", ".join(
        {
            "id": f"{id_base} + t.row_no",
            "province_code": "p.province_code",
            "city_code": "p.city_code",
            "district_code": "p.district_code",
            "location": "t.location",
            "footprint": "ST_Multi(t.footprint)",
            "visibility": "coalesce(t.visibility, CASE WHEN t.wartime_function = "
            "ANY(CAST(:restricted_functions AS text[])) THEN 'restricted' ELSE 'public' END)",
        }.get(c, f"t.{c}")
        for c in names
    )
    excluded = ", ".join(f"EXCLUDED.{c}" for c in WRITTEN)
    stored = ", ".join(f"facility.{c}" for c in WRITTEN)
    on_conflict = (
        ""
        if id_base is not None
        else f"""
                ON CONFLICT (code) DO UPDATE SET ({", ".join(WRITTEN)}) = ({excluded}), updated_at = now(),
                    version = facility.version + 1
                WHERE ({stored}) IS DISTINCT FROM ({excluded})
                   OR EXISTS (SELECT FROM import_child_change c WHERE c.code = EXCLUDED.code)"""
    )
    connection.execute(
        text(
            f"""
            CREATE TEMP TABLE import_written AS
            WITH placed AS (
                SELECT row_no,
                       coalesce(g_province, f_province) AS province_code,
                       coalesce(g_city, f_city) AS city_code,
                       coalesce(g_district, f_district) AS district_code
                FROM import_place
            ), written AS (
                INSERT INTO facility ({", ".join(names)})
                SELECT {values} FROM import_typed t JOIN placed p ON p.row_no = t.row_no
                WHERE NOT EXISTS (SELECT FROM import_error e WHERE e.row_no = t.row_no)
                ORDER BY t.row_no {on_conflict}
                RETURNING id, code, xmax = 0 AS inserted
            )
            SELECT * FROM written
            """
        ),
        {"restricted_functions": sorted(RESTRICTED_FUNCTIONS)},
    )
    # Only the index's owner may merge; for another role autovacuum does it later. On a
    # first load (built_after) the index is not there yet, and is built whole.
    connection.execute(
        text(
            "SELECT gin_clean_pending_list(oid) FROM pg_class "
            "WHERE oid = to_regclass('ix_facility_search') AND pg_has_role(relowner, 'USAGE')"
        )
    )
    row = connection.execute(
        text(
            "SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM import_written"
        )
    ).one()
    return int(row[0]), int(row[1])


def written_codes(connection: Connection, *, limit: int) -> dict[str, list[str]]:
    rows = connection.execute(
        text(
            "SELECT inserted, (array_agg(code ORDER BY code))[1:CAST(:limit AS integer)] "
            "FROM import_written GROUP BY inserted"
        ),
        {"limit": limit},
    )
    return {("inserted" if inserted else "updated"): codes for inserted, codes in rows}


# The children an import writes, by their part in import_child_change: (table, staging
# table, columns).
_CHILDREN = {
    "entrances": ("entrance", "import_entrance", ("kind", "accessible", "name", "location")),
    "protection_units": (
        "protection_unit",
        "import_unit",
        ("name", "shelter_area", "capacity_persons"),
    ),
}


def write_children(
    connection: Connection, *, entrances: bool, units: bool, id_base: int | None
) -> None:
    """Children of new facilities, and of stored ones whose children the file changes,
    inserted in file order, so that their ids keep each list's order. With id_base (see
    reserve_ids) every facility is new, and the row numbered n is facility id_base + n:
    no join by code finds it (1M facilities' 2.85M entrances: 27 -> 14-20 s)."""
    for part, wanted in (("entrances", entrances), ("protection_units", units)):
        if not wanted:
            continue
        table, staged, names = _CHILDREN[part]
        columns, values = ", ".join(names), ", ".join(f"s.{c}" for c in names)
        if id_base is not None:
            connection.execute(
                text(
                    f"INSERT INTO {table} (facility_id, {columns}) "
                    f"SELECT {id_base} + s.row_no, {values} FROM {staged} s "
                    "WHERE NOT EXISTS (SELECT FROM import_error e WHERE e.row_no = s.row_no) "
                    "ORDER BY s.row_no, s.seq"
                )
            )
            continue
        targets = """
            SELECT w.id, t.row_no FROM import_written w JOIN import_typed t ON t.code = w.code
            WHERE (w.inserted OR EXISTS (SELECT FROM import_child_change c
                                         WHERE c.code = w.code AND c.part = :part))
              AND NOT EXISTS (SELECT FROM import_error e WHERE e.row_no = t.row_no)
        """
        connection.execute(
            text(f"DELETE FROM {table} WHERE facility_id IN (SELECT id FROM ({targets}) AS x)"),
            {"part": part},
        )
        connection.execute(
            text(
                f"INSERT INTO {table} (facility_id, {columns}) SELECT x.id, {values} "
                f"FROM ({targets}) AS x JOIN {staged} s ON s.row_no = x.row_no "
                "ORDER BY s.row_no, s.seq"
            ),
            {"part": part},
        )


def analyze_if_large(connection: Connection, rows: int) -> None:
    # Autovacuum cannot see rows before the commit; fresh statistics let the caller's
    # next queries plan well (as the demo loader does).
    if rows >= 100_000:
        connection.execute(text("ANALYZE facility, entrance, protection_unit"))
