"""db.session.one_row: a statement sent through libpq itself, prepared once per connection
out of a transaction, unnamed in one or behind pgbouncer, its errors psycopg's own; and
one_row_waiting, the same without blocking the event loop."""

import asyncio
import itertools
from collections.abc import Iterator
from datetime import UTC, date, datetime

import psycopg
import pytest
from sqlalchemy import Connection, text

from app.alerts.stream import conninfo
from app.config import Settings
from app.db.session import Prepared, one_row, one_row_waiting
from app.nearby.repository import FILTERS, FRESH, _statement

ADD = Prepared.of("SELECT :a::int + :b, :text::text, :day::date, :at::timestamptz, :none::int")
VALUES = {"a": 40, "b": 2, "text": "天鹅湖", "day": date(2026, 12, 7), "none": None}
VALUES |= {"at": datetime(2026, 12, 7, 8, tzinfo=UTC)}


def waiting(connection: psycopg.Connection, statement: Prepared, params: dict) -> list:
    return asyncio.run(one_row_waiting(connection, statement, params))


EITHER = pytest.mark.parametrize("send", [one_row, waiting], ids=["blocking", "waiting"])


@pytest.fixture
def autocommit(settings: Settings) -> Iterator[psycopg.Connection]:
    with psycopg.connect(
        conninfo(settings.sqlalchemy_url), autocommit=True, client_encoding="UTF8"
    ) as connection:
        yield connection


def prepared(connection: psycopg.Connection) -> list[str]:
    return [row[0] for row in connection.execute("SELECT name FROM pg_prepared_statements")]


@EITHER
def test_parameters_go_by_name_and_values_come_as_binary(send, autocommit):
    total, text, day, at, none = send(autocommit, ADD, VALUES)
    assert int.from_bytes(total) == 42
    assert text == "天鹅湖".encode()
    assert len(day) == 4 and len(at) == 8  # days since 2000, microseconds since 2000
    assert none is None
    assert ADD.names == ("a", "b", "text", "day", "at", "none")
    assert b"$6::int" in ADD.sql and b":" not in ADD.sql.replace(b"::", b"")


@EITHER
def test_prepared_once_per_connection_and_again_when_the_connection_forgot_it(send, autocommit):
    send(autocommit, ADD, VALUES)
    send(autocommit, ADD, VALUES)
    assert prepared(autocommit) == [ADD.name.decode()]
    # As after pgbouncer handed the client another server connection, or DISCARD ALL.
    autocommit.execute("DEALLOCATE ALL")
    assert int.from_bytes(send(autocommit, ADD, VALUES)[0]) == 42
    assert prepared(autocommit) == [ADD.name.decode()]


@EITHER
def test_in_a_transaction_and_behind_pgbouncer_the_statement_goes_unnamed(
    send, connection: Connection, autocommit
):
    # A failed execution of an unknown name would end the transaction.
    connection.execute(text("SELECT 1"))  # psycopg begins the transaction at a statement
    driver = connection.connection.driver_connection
    assert int.from_bytes(send(driver, ADD, VALUES)[0]) == 42
    # (the test's connection may hold statements other tests prepared before a transaction)
    assert ADD.name.decode() not in prepared(driver)
    autocommit.prepare_threshold = None  # as connect_args sets it behind pgbouncer
    assert int.from_bytes(send(autocommit, ADD, VALUES)[0]) == 42
    assert prepared(autocommit) == []


@EITHER
def test_errors_are_psycopgs_own(send, autocommit, settings):
    with pytest.raises(psycopg.errors.DivisionByZero):
        send(autocommit, Prepared.of("SELECT 1 / :zero"), {"zero": 0})
    with pytest.raises(psycopg.errors.InvalidTextRepresentation):
        send(autocommit, Prepared.of("SELECT :n::int"), {"n": "4O"})
    autocommit.execute("SET statement_timeout = 50")
    with pytest.raises(psycopg.errors.QueryCanceled):  # answered 504 (db.session._read)
        send(autocommit, Prepared.of("SELECT pg_sleep(:s)"), {"s": 2})
    # Still usable after each.
    assert int.from_bytes(send(autocommit, ADD, VALUES)[0]) == 42
    pid = autocommit.info.backend_pid
    with psycopg.connect(conninfo(settings.sqlalchemy_url), autocommit=True) as killer:
        killer.execute("SELECT pg_terminate_backend(%s)", (pid,))
    with pytest.raises(psycopg.OperationalError):  # a lost connection: 503, and discarded
        send(autocommit, ADD, VALUES)
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


def test_the_loop_goes_on_while_a_waiting_read_waits(autocommit):
    ticks = []

    async def ticking() -> None:
        while True:
            ticks.append(None)
            await asyncio.sleep(0.01)

    async def scenario() -> list:
        ticker = asyncio.create_task(ticking())
        row = await one_row_waiting(autocommit, Prepared.of("SELECT pg_sleep(0.2), 7"), {})
        ticker.cancel()
        return row

    assert int.from_bytes(asyncio.run(scenario())[1]) == 7
    assert len(ticks) >= 10


def test_a_waiting_read_cancelled_closes_its_connection(autocommit):
    # Its answer would still come, and the next statement read it as its own.
    async def scenario() -> None:
        read = asyncio.ensure_future(
            one_row_waiting(autocommit, Prepared.of("SELECT pg_sleep(5)"), {})
        )
        await asyncio.sleep(0.1)
        read.cancel()
        with pytest.raises(asyncio.CancelledError):
            await read

    asyncio.run(scenario())
    assert autocommit.closed
