"""Writing the checked rows: one INSERT ... ON CONFLICT by registry code for the
facilities, then their entrances and protection units."""

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import (
    Connection,
    text,
)

from app.facilities.models import RESTRICTED_FUNCTIONS
from app.imports import fields

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
def bulk_loading(connection: Connection, table: str, rows: int) -> Iterator[bool]:
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
    numbered n gets id base + n. Only while facility is locked (see bulk_loading): every
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
    table is known to be empty and locked (see bulk_loading): nothing can conflict, and a
    plain INSERT spares each row the speculative insertion of ON CONFLICT."""
    # The trigram index (GIN) takes many rows faster from a large pending list merged at
    # once. The list is merged below, before
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
    # first load (bulk_loading) the index is not there yet, and is built whole.
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
    no join by code finds it."""
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
