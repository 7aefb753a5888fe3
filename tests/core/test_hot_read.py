import asyncio
import threading

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from app.db import replicas
from app.db.replicas import Reads, replica
from app.db.session import (
    Held,
    Prepared,
    hot_read,
    make_read_engine,
    make_sessionmaker,
    one_row_waiting,
    utf8_rows,
)


@pytest.mark.parametrize("inline", [False, True])
def test_a_hot_read_waits_for_its_turn_and_runs_when_one_is_free(app, inline):
    state = app.state
    state.read_gate = asyncio.Semaphore(1)

    async def scenario() -> list[str]:
        order: list[str] = []
        await state.read_gate.acquire()  # the one connection is busy

        async def read(name: str) -> None:
            order.append(
                await hot_read(
                    state, lambda s: s.execute(text(f"SELECT '{name}'")).scalar(), inline=inline
                )
            )

        waiting = [asyncio.create_task(read(name)) for name in ("first", "second")]
        await asyncio.sleep(0.05)
        assert order == []
        state.read_gate.release()
        await asyncio.gather(*waiting)
        return order

    assert asyncio.run(scenario()) == ["first", "second"]


def test_an_inline_hot_read_runs_on_the_event_loops_thread_and_others_in_a_worker(app):
    async def threads() -> list[int]:
        return [
            await hot_read(app.state, lambda _: threading.get_ident(), inline=inline)
            for inline in (True, False)
        ]

    inline, hopped = asyncio.run(threads())
    assert inline == threading.get_ident() != hopped


def test_a_hot_read_waiting_past_the_timeout_is_a_503_to_retry(app, public_client):
    app.state.settings = app.state.settings.model_copy(update={"read_pool_timeout_s": 0.05})
    # Every connection stays busy. A semaphore that has made a caller wait belongs to that
    # event loop, and the client runs each request in a loop of its own: one gate each.
    app.state.read_gate = asyncio.Semaphore(0)
    with pytest.raises(PoolTimeout):
        asyncio.run(hot_read(app.state, lambda s: s.execute(text("SELECT 1")).scalar()))
    app.state.read_gate = asyncio.Semaphore(0)
    # open_now reads in a worker thread, past the gate (a search without it reads on the
    # event loop's connection: test_the_event_loops_reads_keep_one_connection_past_the_gate)
    response = public_client.get("/v1/parking/nearby?lon=117.2272&lat=31.8206&open_now=true")
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["retry-after"] == "1"


def test_a_raw_hot_read_gets_psycopgs_connection_and_its_errors_as_sqlalchemys(app):
    import psycopg
    from sqlalchemy.exc import OperationalError

    def select(connection) -> int:
        assert isinstance(connection, psycopg.Connection)
        return connection.execute("SELECT 41 + 1").fetchone()[0]

    assert asyncio.run(hot_read(app.state, select, raw=True, inline=True)) == 42

    def lost(connection) -> None:
        raise psycopg.OperationalError("server closed the connection unexpectedly")

    # A 503 to retry (core.errors), as from any other read; a replica leaves the rotation.
    with pytest.raises(OperationalError):
        asyncio.run(hot_read(app.state, lost, raw=True, inline=True))


BACKEND = Prepared.of("SELECT pg_backend_pid()")


async def waiting_backend(connection) -> int:
    return int.from_bytes((await one_row_waiting(connection, BACKEND, {}))[0])


# the pool's, the loop's own (Held), the loop's own for reads that wait
MODES = {"pool": {}, "held": {"inline": True}, "waiting": {"inline": True, "waits": True}}


@pytest.mark.parametrize("mode", MODES)
def test_a_raw_hot_read_that_lost_its_connection_discards_it_for_a_new_one(
    app, settings, caplog, mode
):
    # The pool of a real engine: the app fixture's reads share the test's one connection.
    engine = make_read_engine(settings)
    app.state.reads = Reads(make_sessionmaker(engine))

    def backend(connection) -> int:
        return connection.execute("SELECT pg_backend_pid()").fetchone()[0]

    def read() -> int:
        work = waiting_backend if mode == "waiting" else backend
        return asyncio.run(hot_read(app.state, work, raw=True, **MODES[mode]))

    try:
        first = read()
        killer = create_engine(settings.sqlalchemy_url)
        with killer.connect() as connection:
            connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": first})
        killer.dispose()
        with pytest.raises(OperationalError):  # a 503 to retry (core.errors)
            read()
        assert read() != first
    finally:
        app.state.reads.dispose()
        engine.dispose()
    # Handed back to the pool, the lost connection's ROLLBACK failed and logged a traceback.
    assert not [r for r in caplog.records if r.name.startswith("sqlalchemy.pool")], caplog.text


def test_the_event_loops_reads_keep_one_connection_past_the_gate(app, settings):
    engine = make_read_engine(settings)
    app.state.reads = Reads(make_sessionmaker(engine))
    app.state.read_gate = asyncio.Semaphore(0)  # every pooled connection busy

    def backend(connection) -> int:
        return connection.execute("SELECT pg_backend_pid()").fetchone()[0]

    try:
        pids = {asyncio.run(hot_read(app.state, backend, raw=True, inline=True)) for _ in range(3)}
        waiting = {
            asyncio.run(hot_read(app.state, waiting_backend, raw=True, inline=True, waits=True))
            for _ in range(3)
        }
        assert len(pids) == len(waiting) == 1 and pids != waiting
        # held, one for each kind of the loop's reads, two more than the gate admits
        assert engine.pool.checkedout() == 2
        assert engine.pool.size() == settings.read_pool_size + 2
    finally:
        app.state.reads.dispose()
        engine.dispose()
    assert engine.pool.checkedout() == 0


def test_a_replica_that_lost_the_loops_connection_leaves_and_the_primary_answers(
    app, settings, caplog
):
    # A failover: the replica's kept connection is gone; the read is made again on the
    # primary's, no 503, and the replica's is discarded rather than kept checked out.
    engine = make_read_engine(settings)
    standby = replica(settings, settings.sqlalchemy_url)  # the same database, in rotation
    app.state.reads = reads = Reads(make_sessionmaker(engine), [standby])
    reads.update(standby, 0.0, settings)

    def backend(connection) -> int:
        return connection.execute("SELECT pg_backend_pid()").fetchone()[0]

    try:
        first = asyncio.run(hot_read(app.state, backend, raw=True, inline=True))
        assert standby.engine.pool.checkedout() == 1 and engine.pool.checkedout() == 0
        killer = create_engine(settings.sqlalchemy_url)
        with killer.connect() as connection:
            connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": first})
        killer.dispose()
        assert asyncio.run(hot_read(app.state, backend, raw=True, inline=True)) != first
        assert not standby.in_rotation
        assert standby.engine.pool.checkedout() == 0 and engine.pool.checkedout() == 1
    finally:
        reads.dispose()
        engine.dispose()
    assert engine.pool.checkedout() == 0
    assert not [r for r in caplog.records if r.name.startswith("sqlalchemy.pool")], caplog.text


def test_two_event_loops_asking_at_once_keep_one_connection_between_them(
    app, settings, monkeypatch
):
    # Each loop (a test's two clients) finds no Held and makes one: only one may be kept,
    # as dispose() gives back the kept one's connection and no one the other's.
    engine = make_read_engine(settings)
    app.state.reads = reads = Reads(make_sessionmaker(engine))
    both_looked = threading.Barrier(2)
    made: list[Held] = []

    class Made(Held):
        def __init__(self, sessions) -> None:
            both_looked.wait(timeout=5)
            super().__init__(sessions)
            made.append(self)

    monkeypatch.setattr(replicas, "Held", Made)

    def read() -> None:
        work = lambda connection: connection.execute("SELECT 1").fetchone()  # noqa: E731
        asyncio.run(hot_read(app.state, work, raw=True, inline=True))

    loops = [threading.Thread(target=read) for _ in range(2)]
    try:
        for loop in loops:
            loop.start()
        for loop in loops:
            loop.join()
        assert len(made) == 2 and [h for h in made if h.pooled] == [reads.held(None)]
        reads.dispose()
        assert engine.pool.checkedout() == 0
    finally:
        engine.dispose()


def test_a_value_the_database_refuses_on_a_raw_read_is_sqlalchemys_data_error(app):
    # As from a Session: core.errors answers 422 with the database's words, not a 500.
    from sqlalchemy.exc import DataError

    def refused(connection) -> None:
        connection.execute("SELECT %s::int", (2**40,))

    with pytest.raises(DataError, match="out of range"):
        asyncio.run(hot_read(app.state, refused, raw=True, inline=True))


@pytest.mark.parametrize("pgbouncer", [False, True])
def test_raw_reads_are_utf8_whatever_the_clients_default_encoding(
    app, settings, monkeypatch, pgbouncer
):
    # libpq takes PGCLIENTENCODING (as a role's or a database's default) over the server's
    # encoding; raw reads hand PostgreSQL's bytes to the wire as UTF-8 (utf8_rows).
    monkeypatch.setenv("PGCLIENTENCODING", "GBK")
    engine = make_read_engine(settings.model_copy(update={"db_pgbouncer": pgbouncer}))
    app.state.reads = Reads(make_sessionmaker(engine))
    name = "天鹅湖人防车库"

    def read(connection) -> list[tuple]:
        return utf8_rows(connection, "SELECT %(name)s::text, %(name)s::varchar", {"name": name})

    try:
        assert asyncio.run(hot_read(app.state, read, raw=True)) == [(name.encode(), name)]
    finally:
        engine.dispose()


def test_a_database_away_as_a_raw_reads_connection_is_made_is_a_503(app, settings):
    # The pool raises psycopg's error for a connection refused: as a raw read's, it is
    # SQLAlchemy's, which the routes answer 503 (a tile was a 500 with the database down).
    from fastapi.testclient import TestClient

    away = settings.model_copy(update={"database_url": "postgresql+psycopg://rf@127.0.0.1:1/rf"})
    engine = make_read_engine(away)
    app.state.reads = Reads(make_sessionmaker(engine))
    work = lambda connection: connection.execute("SELECT 1").fetchone()  # noqa: E731
    try:
        for inline in (True, False):  # the loop's kept connection, a worker thread's
            with pytest.raises(OperationalError):
                asyncio.run(hot_read(app.state, work, raw=True, inline=inline))
        answer = TestClient(app).get(
            "/ogc/collections/facilities/tiles/WebMercatorQuad/12/3410/1663"
        )
        assert answer.status_code == 503, answer.text
        assert answer.headers["content-type"] == "application/problem+json"
    finally:
        engine.dispose()


def test_a_database_host_that_never_answers_is_a_503_within_the_connect_bound(app, settings):
    """A listener that accepts and stays silent, as a host behind a dropping firewall: the
    loop's kept connection is made on the event loop, which it must not hold for long."""
    import socket
    import time

    from fastapi.testclient import TestClient

    with socket.create_server(("127.0.0.1", 0)) as silent:
        port = silent.getsockname()[1]
        url = f"postgresql+psycopg://rf@127.0.0.1:{port}/rf"
        bounded = settings.model_copy(update={"database_url": url, "db_connect_timeout_s": 2})
        engine = make_read_engine(bounded)
        app.state.reads = Reads(make_sessionmaker(engine))
        started = time.monotonic()
        try:
            answer = TestClient(app).get("/v1/parking/nearby?lon=117.2272&lat=31.8206")
        finally:
            engine.dispose()
    assert answer.status_code == 503, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    # libpq tries twice under the default sslmode (prefer): with TLS, then without
    assert time.monotonic() - started < 2 * 2 + 3
