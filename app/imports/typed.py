"""Typing the staged cells in SQL: each cell as its column's value, NULL where it does not
parse (imports.checks names those), merged with the stored facility of the same code."""

import json
from typing import Any

from sqlalchemy import (
    Connection,
    text,
)

from app.imports import fields
from app.imports.fields import Column, Kind

# The SQL below reads the staged cells as they come: trimmed of spaces, and NULL where
# empty (batches.StagedBatch).
# Thousands separators, spaces and the units offices type into number cells.
_NUMBER = "regexp_replace(r.{name}, '[,，\\s]|(㎡|m²|m2|平方米|平米|人|个|小时|h)$', '', 'g')"


# Plain numbers, nearly all cells, are read as they are: one pattern test and a cast,
# where a cleaned-up cell costs the replacement, a second test and two casts.
_PLAIN_INTEGER_RE = "^[0-9]{1,12}$"


_PLAIN_DECIMAL_RE = "^[0-9]{1,12}([.][0-9]{1,12})?$"


# A decimal number, in the cells of number columns and of lon/lat (batches._decimals).
# Bounded, so that every match casts to numeric and compares as a double; the range is
# each column's check.
DECIMAL_RE = "^[+-]?([0-9]{1,30}[.]?[0-9]{0,30}|[.][0-9]{1,30})([eE][+-]?[0-9]{1,2})?$"


_INTEGER_RE = "^[+-]?[0-9]{1,12}([.]0*)?$"


DATE_RE = (
    "^([0-9]{4})([-/.年](0?[1-9]|1[0-2])([-/.月](0?[1-9]|[12][0-9]|3[01])日?)?月?)?([ T][0-9:.]+)?$"
)


# An ISO date and time that is valid for certain (no 30 February, no hour 24), with or
# without a zone. Such cells, nearly all, are cast as they are; the rest go through
# pg_temp.rf_timestamptz, whose EXCEPTION block costs a subtransaction per call.
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
            value = f"CAST(substring(r.completion_date from '{DATE_RE}') AS integer)"
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
    """Types the staged rows numbered first to last, while the file's next batches are
    read: the server, idle for most of the reading, does it alongside."""
    connection.execute(
        text(
            f"INSERT INTO import_typed {_typed_select(present)} "
            "WHERE r.row_no BETWEEN :first AND :last"
        ),
        _typed_params(present, choices) | {"first": first, "last": last},
    )


def analyze_typed(connection: Connection) -> None:
    # Row counts and the join keys are all the plans below need; statistics on thirty
    # text columns would cost more than they help.
    connection.execute(text("ANALYZE import_typed (row_no, code, facility_id)"))
