"""db.session.one_row: a statement sent through libpq itself, prepared once per connection
out of a transaction, unnamed in one or behind pgbouncer, its errors psycopg's own."""

import itertools
from collections.abc import Iterator
from datetime import UTC, date, datetime

import psycopg
import pytest
from sqlalchemy import Connection, text

from app.alerts.stream import conninfo
from app.config import Settings
from app.db.session import Prepared, one_row
from app.nearby.repository import FILTERS, FRESH, _statement

ADD = Prepared.of("SELECT :a::int + :b, :text::text, :day::date, :at::timestamptz, :none::int")
VALUES = {"a": 40, "b": 2, "text": "天鹅湖", "day": date(2026, 12, 7), "none": None}
VALUES |= {"at": datetime(2026, 12, 7, 8, tzinfo=UTC)}


@pytest.fixture
def autocommit(settings: Settings) -> Iterator[psycopg.Connection]:
    with psycopg.connect(
        conninfo(settings.sqlalchemy_url), autocommit=True, client_encoding="UTF8"
    ) as connection:
        yield connection


def prepared(connection: psycopg.Connection) -> list[str]:
    return [row[0] for row in connection.execute("SELECT name FROM pg_prepared_statements")]


def test_parameters_go_by_name_and_values_come_as_binary(autocommit):
    total, text, day, at, none = one_row(autocommit, ADD, VALUES)
    assert int.from_bytes(total) == 42
    assert text == "天鹅湖".encode()
    assert len(day) == 4 and len(at) == 8  # days since 2000, microseconds since 2000
    assert none is None
    assert ADD.names == ("a", "b", "text", "day", "at", "none")
    assert b"$6::int" in ADD.sql and b":" not in ADD.sql.replace(b"::", b"")


def test_prepared_once_per_connection_and_again_when_the_connection_forgot_it(autocommit):
    one_row(autocommit, ADD, VALUES)
    one_row(autocommit, ADD, VALUES)
    assert prepared(autocommit) == [ADD.name.decode()]
    # As after pgbouncer handed the client another server connection, or DISCARD ALL.
    autocommit.execute("DEALLOCATE ALL")
    assert int.from_bytes(one_row(autocommit, ADD, VALUES)[0]) == 42
    assert prepared(autocommit) == [ADD.name.decode()]


def test_in_a_transaction_and_behind_pgbouncer_the_statement_goes_unnamed(
    connection: Connection, autocommit
):
    # A failed execution of an unknown name would end the transaction.
    connection.execute(text("SELECT 1"))  # psycopg begins the transaction at a statement
    driver = connection.connection.driver_connection
    assert int.from_bytes(one_row(driver, ADD, VALUES)[0]) == 42
    assert prepared(driver) == []
    autocommit.prepare_threshold = None  # as connect_args sets it behind pgbouncer
    assert int.from_bytes(one_row(autocommit, ADD, VALUES)[0]) == 42
    assert prepared(autocommit) == []


def test_errors_are_psycopgs_own(autocommit, settings):
    with pytest.raises(psycopg.errors.DivisionByZero):
        one_row(autocommit, Prepared.of("SELECT 1 / :zero"), {"zero": 0})
    with pytest.raises(psycopg.errors.InvalidTextRepresentation):
        one_row(autocommit, Prepared.of("SELECT :n::int"), {"n": "4O"})
    autocommit.execute("SET statement_timeout = 50")
    with pytest.raises(psycopg.errors.QueryCanceled):  # answered 504 (db.session._read)
        one_row(autocommit, Prepared.of("SELECT pg_sleep(:s)"), {"s": 2})
    # Still usable after each.
    assert int.from_bytes(one_row(autocommit, ADD, VALUES)[0]) == 42
    pid = autocommit.info.backend_pid
    with psycopg.connect(conninfo(settings.sqlalchemy_url), autocommit=True) as killer:
        killer.execute("SELECT pg_terminate_backend(%s)", (pid,))
    with pytest.raises(psycopg.OperationalError):  # a lost connection: 503, and discarded
        one_row(autocommit, ADD, VALUES)
    assert autocommit.closed


def test_every_search_statement_runs(connection: Connection):
    # Each combination of the nearby search's filters, with and without navigation links.
    driver = connection.connection.driver_connection
    filters = [f.format(fresh=FRESH) for f in FILTERS.values()]
    now = datetime.now(UTC)
    values = {"lon": 117.2272, "lat": 31.8206, "radius": 3000.0, "use_type": "parking"}
    values |= {"position": 1, "stale_after_s": 900, "min_free": 1, "vehicle_height": 2.2}
    values |= {"limit": 65, "offset": 0, "keep": 50, "amap_mode": "car", "source": "rf"}
    values |= {"tencent_mode": "drive", "baidu_mode": "driving", "now": now, "day": now.date()}
    for count in range(len(filters) + 1):
        for chosen in itertools.combinations(filters, count):
            for navigation in (True, False):
                row = one_row(driver, _statement(chosen, navigation), values)
                assert len(row) == 6
