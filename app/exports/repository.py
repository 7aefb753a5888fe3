"""The queries of exports: rows from a server-side cursor, in the order of their registry
codes, as PostgreSQL's own GeoJSON and text forms or as typed columns for GDAL."""

from collections.abc import Iterator
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Float,
    Numeric,
    Text,
    and_,
    case,
    cast,
    func,
    literal_column,
    select,
    text,
)

from app.core.geo import WGS84, Positions
from app.facilities.models import Entrance, Facility
from app.facilities.repository import (
    PLAIN_COLUMNS,
    entrances_json,
    geojson,
    json_object,
    protection_units_json,
)
from app.imports import fields
from app.imports.fields import Kind
from app.signage.models import Sign
from app.uses.models import PeacetimeUse

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


def export_features(
    connection: Connection, where: Any, chunk: int, positions: Positions = WGS84
) -> Iterator[list[str]]:
    """GeoJSON Feature texts, built by PostgreSQL, in chunks."""
    properties = [
        *EXPORT_SCALARS,
        (fields.FOOTPRINT, geojson(Facility.footprint, positions)),
        (fields.ENTRANCES, entrances_json(with_ids=False, positions=positions)),
        (fields.UNITS, protection_units_json(with_ids=False)),
    ]
    feature = func.json_build_object(
        "type",
        "Feature",
        "geometry",
        geojson(Facility.location, positions),
        "properties",
        json_object(properties),
    )
    query = _ordered(select(cast(feature, Text)), where)
    for part in _partitions(connection, query, chunk):
        yield [row[0] for row in part]


def export_rows_as_text(
    connection: Connection, where: Any, chunk: int, positions: Positions = WGS84
) -> Iterator[list[tuple]]:
    """CSV cells in PostgreSQL's own text forms, so numbers and times print as stored
    (positions in a shifted system to the 7 decimals of the GeoJSON ones)."""
    location = positions.sql(Facility.location)
    if positions == WGS84:
        lon, lat = cast(func.ST_X(location), Text), cast(func.ST_Y(location), Text)
    else:
        lon, lat = (
            cast(func.round(cast(f(location), Numeric), 7), Text) for f in (func.ST_X, func.ST_Y)
        )
    columns = [
        *(cast(value, Text) for _, value in EXPORT_SCALARS),
        lon,
        lat,
        cast(geojson(Facility.footprint, positions), Text),
        cast(entrances_json(with_ids=False, positions=positions), Text),
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


def export_columns(
    connection: Connection, where: Any, chunk: int, positions: Positions = WGS84
) -> Iterator[list[list]]:
    """Typed columns for GDAL, one list per field, in chunks: geometry in `positions`,
    and so are the footprint and entrance positions written as JSON text."""

    def typed(name: str, value: ColumnElement) -> ColumnElement:
        kind = fields.BY_NAME[name].kind if name in fields.BY_NAME else Kind.text
        if kind == Kind.decimal:
            return cast(value, Float)
        return _gis_time(value) if kind == Kind.timestamp else value

    columns = [
        func.ST_AsBinary(positions.sql(Facility.location)),
        *(typed(name, value) for name, value in EXPORT_SCALARS),
        cast(geojson(Facility.footprint, positions), Text),
        cast(entrances_json(with_ids=False, positions=positions), Text),
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


# Each sheet of a workbook beside the facilities': a row per child of a facility, in the
# order the facility lists them. Positions apply to those that have them (entrances).


def export_entrances(
    connection: Connection, where: Any, chunk: int, positions: Positions = WGS84
) -> Iterator[list[tuple]]:
    location = positions.sql(Entrance.location)
    columns = (Entrance.kind, Entrance.name, Entrance.accessible)
    return _children(
        connection, where, chunk, Entrance, *columns, func.ST_X(location), func.ST_Y(location)
    )


def export_uses(
    connection: Connection, where: Any, chunk: int, positions: Positions = WGS84
) -> Iterator[list[tuple]]:
    u = PeacetimeUse
    columns = (u.type, u.name, u.opening_hours, u.contact_name, u.contact_phone, u.fee)
    return _children(connection, where, chunk, u, *columns, cast(u.attributes, Text))


def export_signs(
    connection: Connection, where: Any, chunk: int, positions: Positions = WGS84
) -> Iterator[list[tuple]]:
    dates = (cast(Sign.installed_on, Text), cast(Sign.inspected_on, Text))
    return _children(
        connection, where, chunk, Sign, Sign.kind, Sign.status, Sign.description, *dates
    )


def _children(
    connection: Connection, where: Any, chunk: int, child: Any, *columns: Any
) -> Iterator[list[tuple]]:
    query = (
        select(Facility.code, *columns)
        .join(child, child.facility_id == Facility.id)
        .where(*where.clauses())
        .order_by(Facility.code, child.id)
    )
    return _partitions(connection, query, chunk)
