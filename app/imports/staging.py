"""Staging: an import's rows are COPYed as text into temporary tables of its connection,
where the statements of imports.typed, imports.checks and imports.writing pass over all
of them at once; nothing goes through the ORM row by row. Column names in those
statements come from `fields.COLUMNS`, never from a file; every value read from a file
travels as a bound parameter or through COPY."""

import io
from collections.abc import Iterable
from typing import Any, NamedTuple

import psycopg
from psycopg.copy import LibpqWriter
from sqlalchemy import (
    Connection,
    text,
)

from app.imports import fields

# The staging tables live in the server session's own buffers, 8 MB unless set when the
# session starts: a large import's staged rows would be written out and read back at
# every step. The buffers are taken as needed and
# kept until the session ends, so the CLI, whose session ends with the import, sets this
# (see imports.cli); the API's pooled sessions, which run import jobs, do not.
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
        # saves. Until commit.
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
    each of those waits its turn, and a batch is slow to send. Uses
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
