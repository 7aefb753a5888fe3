"""The demo facilities written through COPY: the entry point of the generator."""

import numpy as np
import psycopg
from sqlalchemy import Connection, text

from app.demo import bulk
from app.demo.generate import DEFAULT_SEED, DEFAULT_SIZE, _Demo, _generate
from app.demo.places import CITIES
from app.demo.rows import _entrance_blocks, _facility_blocks, _protection_unit_blocks
from app.divisions import repository as divisions
from app.divisions.models import DivisionLevel

# Facilities drawn and written at a time: a part's arrays and the server's queue of
# foreign-key checks for its rows take about a gigabyte each, whatever the whole size.
PART_SIZE = 1_000_000


def load(connection: Connection, *, size: int = DEFAULT_SIZE, seed: int = DEFAULT_SEED) -> int:
    """Write `size` demo facilities, with entrances and protection units, through COPY.

    The caller owns the transaction. Tables need not be empty: ids come from the
    identity sequence, and codes are RF-<division code>-<id as 7 digits>. The same seed
    and size give the same data, apart from ids and codes. A size over PART_SIZE is
    written in parts of at most that many, part i drawn with seed + i, each a province
    of its own size (the totals of generate._parking_targets scale with it): the first
    PART_SIZE facilities are those a load of PART_SIZE writes.
    """
    with bulk.indexes_built_after(connection):
        for part, start in enumerate(range(0, max(size, 0), PART_SIZE)):
            _load_part(connection, min(PART_SIZE, size - start), seed + part)
    return max(size, 0)


def _load_part(connection: Connection, size: int, seed: int) -> None:
    demo = _generate(size, seed)
    _place_in_loaded_boundaries(connection, demo)
    # Through SQLAlchemy first: that begins the caller's transaction (autobegin), so the
    # caller's commit() covers the COPYs below, sent on the same DBAPI connection.
    ids = _reserve_facility_ids(connection, size)
    raw: psycopg.Connection = connection.connection.driver_connection  # type: ignore[assignment]
    with raw.cursor() as cursor:
        with cursor.copy(_COPY_FACILITY) as copy:
            for block in _facility_blocks(demo, ids):
                copy.write(block)
        with cursor.copy(_COPY_ENTRANCE) as copy:
            for block in _entrance_blocks(demo, ids, np.random.default_rng([seed, 1])):
                copy.write(block)
        with cursor.copy(_COPY_PROTECTION_UNIT) as copy:
            for block in _protection_unit_blocks(demo, ids, np.random.default_rng([seed, 2])):
                copy.write(block)
    # Autovacuum cannot see rows before the commit: fresh statistics now let the caller's
    # next queries (the use demo's triggers among them) plan well. Without them a table
    # that a vacuum left with pages but no live rows (after a rolled-back load) counts as
    # empty however much is written, and nested loops over it grow with the square of the
    # rows: minutes for the 6,000 default facilities. A rollback takes them back with
    # the rows.
    connection.execute(text("ANALYZE facility, entrance, protection_unit"))


_COPY_FACILITY = (
    "COPY facility (id, code, name, address, province_code, city_code, district_code,"
    " location, construction_form, standalone_type, wartime_function, wartime_subtype,"
    " nuclear_level, conventional_level, chemical_class, building_area, usable_area,"
    " shelter_area, capacity_persons, capacity_basis, floors_below_ground, completion_year,"
    " owner_unit, managing_unit, managing_authority, keyholder_name, keyholder_phone, status,"
    " visibility, conversion_hours, peacetime_parking_spaces, data_source, verified_at, verified_by)"
    " FROM STDIN"
)

_COPY_ENTRANCE = "COPY entrance (facility_id, kind, accessible, name, location) FROM STDIN"
_COPY_PROTECTION_UNIT = (
    "COPY protection_unit (facility_id, name, shelter_area, capacity_persons) FROM STDIN"
)


def _place_in_loaded_boundaries(connection: Connection, demo: _Demo) -> None:
    """Where district boundaries are loaded, each facility's district is the one that
    covers it, before its code, name and address are written from it: the generator's
    districts come from rough centres (Hefei's urban clusters take the nearest of four),
    and a work whose code says Shushan while it lies in Baohe contradicts itself. A
    district counts only inside the facility's own city."""
    if not connection.scalar(text("SELECT EXISTS (SELECT FROM division_part)")):
        return
    connection.execute(
        text(
            "CREATE TEMP TABLE demo_point ON COMMIT DROP AS"
            " SELECT i::int AS i, city_code, ST_SetSRID(ST_MakePoint(lon, lat), 4326) AS location"
            " FROM unnest(CAST(:lon AS float8[]), CAST(:lat AS float8[]), CAST(:city AS text[]))"
            " WITH ORDINALITY AS u(lon, lat, city_code, i)"
        ),
        {
            "lon": demo.lon.tolist(),
            "lat": demo.lat.tolist(),
            "city": [CITIES[c].code for c in demo.city.tolist()],
        },
    )
    connection.execute(text("CREATE INDEX ON demo_point USING gist (location)"))
    connection.execute(text("ANALYZE demo_point"))
    covering = divisions.finest_covering_each(
        "demo_point", "i", "location", (DivisionLevel.district,)
    )
    rows = connection.execute(
        text(
            f"SELECT p.i, d.code, d.name FROM {covering} AS x"
            " JOIN demo_point p ON p.i = x.i JOIN division d ON d.code = x.code"
            " WHERE d.parent_code = p.city_code"
        )
    )
    for i, code, name in rows:
        demo.district_code[i - 1] = code
        demo.district_name[i - 1] = name
    connection.execute(text("DROP TABLE demo_point"))


def _reserve_facility_ids(connection: Connection, count: int) -> np.ndarray:
    # nextval() is never rolled back nor handed out twice, so these ids are ours even with
    # other writers at work; they are usually, not necessarily, consecutive. The sequence
    # is looked up once (a sub-select), not per row. The lock first, as any insert takes
    # it before its ids: a first import's block of ids (imports.writing.reserve_ids)
    # is taken under its own lock on the table, which this then waits for.
    connection.execute(text("LOCK TABLE facility IN ROW EXCLUSIVE MODE"))
    reserved = connection.execute(
        text(
            "SELECT array_agg(nextval((SELECT pg_get_serial_sequence('facility', 'id'))::regclass))"
            " FROM generate_series(1, :count)"
        ),
        {"count": count},
    ).scalar_one()
    return np.array(reserved, dtype=np.int64)
