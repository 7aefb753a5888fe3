import asyncio
import hashlib
import re
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import anyio
import psycopg
from fastapi import Depends, Request
from psycopg.pq import (
    ConnStatus,
    DiagnosticField,
    ExecStatus,
    Format,
    PGconn,
    PGresult,
    TransactionStatus,
)
from psycopg.types.string import ByteaBinaryLoader
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.exc import DataError, IntegrityError, InternalError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import PoolProxiedConnection
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import State
from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from app.config import Settings
from app.core.errors import StatementTimeout, timed_out, violated_constraint

if TYPE_CHECKING:  # db.replicas imports this module
    from app.db.replicas import Reads, Replica

# Set by the gate for a caller who wrote within read_your_writes_s (db.replicas).
FROM_PRIMARY: ContextVar[bool] = ContextVar("from_primary", default=False)
# The bound a hot read of this request ran past: the route the fast path hands such a
# request on to (core.fastpath) answers 504 at once instead of asking the same again.
TIMED_OUT: ContextVar[float | None] = ContextVar("timed_out", default=None)


def connect_args(settings: Settings, options: str) -> dict[str, object]:
    """Session settings sent at connection time, or, behind pgbouncer in transaction mode
    (db_pgbouncer), nothing: pgbouncer refuses startup options and would hand a session's
    settings and prepared statements to other clients. There the settings belong to the
    database and the roles (docs/operations.md, Replicas and pooling).

    Always UTF-8 as the client encoding, which pgbouncer keeps per client: raw reads send
    PostgreSQL's text to the wire as it comes (utf8_rows), and a PGCLIENTENCODING or a
    role's default of GBK would make every answer with a Chinese name invalid JSON.

    A bound on connecting (db_connect_timeout_s), as hot reads connect on the event loop."""
    common = {"client_encoding": "UTF8", "connect_timeout": settings.db_connect_timeout_s}
    if settings.db_pgbouncer:
        return {**common, "prepare_threshold": None}
    return {**common, "options": options}


DB_OVERFLOW = 10  # connections beyond db_pool_size, made when busy and closed after


def make_engine(settings: Settings) -> Engine:
    # No pre-ping: it costs a round trip per request; a connection lost to a database
    # restart fails one request with 503 (see core.errors) and is then replaced.
    # JIT off: once the tables grow its compile time is many times the short queries it
    # would speed up (docs/performance.md, Database sessions).
    return create_engine(
        settings.sqlalchemy_url,
        pool_size=settings.db_pool_size,
        max_overflow=DB_OVERFLOW,
        pool_timeout=settings.db_pool_timeout_s,
        connect_args=connect_args(settings, "-c jit=off"),
    )


READ_OPTIONS = (
    "-c jit=off -c enable_bitmapscan=off -c max_parallel_workers_per_gather=0"
    " -c default_transaction_read_only=on"
)


def milliseconds(seconds: float) -> int:
    """A bound as PostgreSQL's timeouts take it; never 0, which would mean none."""
    return max(1, round(seconds * 1000))


def make_read_engine(settings: Settings, url: str | None = None) -> Engine:
    """For hot read paths (nearby search, OGC items, tiles): autocommit, so a request is one
    round trip and no ROLLBACK; a fixed pool that bounds how many run at once (see
    Settings.read_pool_size); and planner settings that keep KNN searches on their index:
    past a million rows the planner prefers a parallel bitmap scan of the whole radius,
    sorted, to the KNN index scan that stops after `limit` rows, which is far quicker.

    Each statement may run read_statement_timeout_s: a session setting, as autocommit has
    no transaction to SET LOCAL in, and one costs no round trip. Behind pgbouncer it is
    the reader role's instead (docs/operations.md, Time bounds).

    Two connections more than the gate admits: the event loop's own and its waiting one
    (Held)."""
    timeout = milliseconds(settings.read_statement_timeout_s)
    return create_engine(
        url or settings.sqlalchemy_url,
        pool_size=settings.read_pool_size + 2,
        max_overflow=0,
        pool_timeout=settings.read_pool_timeout_s,
        isolation_level="AUTOCOMMIT",
        connect_args=connect_args(settings, f"{READ_OPTIONS} -c statement_timeout={timeout}"),
    )


@contextmanager
def command_connection(**server_settings: str) -> Iterator[Connection]:
    """A connection of an `rf` command's own, made as the API's are (connect_args): in UTF-8
    whatever the client's default, as imports send their files' UTF-8 to COPY as bytes; its
    server session starts with these settings, except behind pgbouncer, which refuses them
    (the database's and the role's hold there)."""
    settings = Settings()
    options = " ".join(f"-c {name}={value}" for name, value in server_settings.items())
    engine = create_engine(settings.sqlalchemy_url, connect_args=connect_args(settings, options))
    try:
        with engine.connect() as connection:
            yield connection
    finally:
        engine.dispose()


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False, autoflush=False)


T = TypeVar("T")
BINARY = Format.BINARY
IDLE = TransactionStatus.IDLE
UNDEFINED_PREPARED_STATEMENT = b"26000"


async def hot_read(
    state: State,
    work: Callable[[Session], T] | Callable[[psycopg.Connection], T],
    *,
    inline: bool = False,
    pinned: bool = False,
    primary: bool = False,
    raw: bool = False,
    waits: bool = False,
) -> T:
    """`work` with a read engine session, in a worker thread. At most read_pool_size run at
    once; the rest wait their turn here, first come first served, as coroutines: parked on
    the pool as threads, they would wake in no fair order and take the interpreter lock
    from the requests in flight, which lengthens the tail (docs/performance.md). A request
    that waits longer than read_pool_timeout_s gets 503, as from the pool's own TimeoutError.

    `inline` runs `work` on the event loop's thread instead, for one short query whatever
    the input (a nearby search without open_now: about a millisecond). The hop to a thread
    costs it more than the wait costs the process: the worker thread and the loop would
    trade the interpreter lock at each of psycopg's reads of a 100 KB answer. With a
    Session it waits at the gate first: past it a connection is free, so the loop never
    blocks on the pool.

    `pinned`: on the replica the tile cache follows (db.replicas), not the next one.
    `primary`: on the primary whatever the replicas (a probe of the primary itself).

    `raw`: `work` gets a psycopg connection instead of a Session, for a path that sends
    one statement of its own: a Session and its transaction cost a nearby search more
    Python than its rows do (docs/performance.md). Inline and raw, it is the connection
    the source keeps for the loop (Held), past neither the gate nor the pool.

    `waits` (with `inline` and `raw`): `work` is a coroutine function that waits for
    PostgreSQL's answer without blocking the loop (one_row_waiting), on a connection the
    source keeps for such reads: a read many requests wait on (the tile change log), which
    would otherwise hold up every other request of the process for its round trip."""
    if (bound := TIMED_OUT.get()) is not None:
        raise StatementTimeout(seconds=bound)
    source = None if primary else _source(state.reads, pinned)
    if inline and raw:
        return await _read(state, source, work, inline, raw, waits)
    await _turn(state.read_gate, state.settings.read_pool_timeout_s, "hot read")
    try:
        return await _read(state, source, work, inline, raw)
    finally:
        state.read_gate.release()


async def _turn(gate: asyncio.Semaphore, seconds: float, what: str) -> None:
    try:
        async with asyncio.timeout(seconds):
            await gate.acquire()
    except TimeoutError:
        raise PoolTimeout(f"every {what} connection stayed busy") from None


@asynccontextmanager
async def admitted(state: State) -> AsyncIterator[None]:
    """A turn to use the primary's pool from a request: its session, a key's read, a
    streamed body's own session. At most the pool's size hold one at once (the gate is
    the pool's size with its overflow); the rest wait here, as coroutines, for
    db_pool_timeout_s, then 503.

    Waiting in the pool instead, they would wait on worker threads, and a burst would
    take every thread: the requests holding the connections would then find no thread
    to finish on (FastAPI runs a sync route, its answer's validation and the session's
    commit each on one), and no connection would come back until the waits timed out,
    one thread at a time, while the burst's backlog took each thread freed. Admitted
    before any thread hop, a request finds a connection free when it asks for one (but
    for those the workers hold, which they give back without a request's help), so no
    thread waits on the pool for another request to finish."""
    await _turn(state.primary_gate, state.settings.db_pool_timeout_s, "database")
    try:
        yield
    finally:
        state.primary_gate.release()


class AdmittedStream(StreamingResponse):
    """A streamed answer whose body reads with a session of its own (an export, an import's
    error report), admitted as a request is. Its turn is taken before its status is sent: a
    wait past db_pool_timeout_s is then a 503 (core.errors), where a turn taken by the body
    once 200 had gone out cut the answer short. The body is closed before the turn is given
    back, so its connection is in the pool by then: a client gone mid-body would otherwise
    leave the generator suspended, its session open until the generator is collected."""

    def __init__(self, state: State, body: Generator[bytes], **options: Any) -> None:
        super().__init__(body, **options)
        self.state = state
        self.body = body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async with admitted(self.state):
            try:
                await super().__call__(scope, receive, send)
            finally:
                with anyio.CancelScope(shield=True):
                    await run_in_threadpool(self.body.close)


def _source(reads: "Reads", pinned: bool) -> "Replica | None":
    return reads.pinned if pinned and not FROM_PRIMARY.get() else reads.next()


async def _read(
    state: State, replica, work: Callable, inline: bool, raw: bool, waits: bool = False
) -> T:
    """On `replica` (db.replicas), or on the primary when None. A replica that lost its
    connection leaves the rotation and the read is made again on the primary. A read that
    ran past its bound is neither: the replica is well and the primary would spend as
    long again on it, so it is answered as too long (core.errors.StatementTimeout)."""
    reads = state.reads
    try:
        if inline and raw:
            with reads.held(replica, waits=waits).connection() as connection:
                if waits:
                    return await _translated(work(connection))
                return _raw_work(connection, work)
        sessions = reads.sessions(replica)
        read = _with_read_connection if raw else _with_read_session
        if inline:
            return read(sessions, work)
        return await run_in_threadpool(read, sessions, work)
    except (OperationalError, InternalError) as exc:
        if timed_out(exc):
            TIMED_OUT.set(bound := state.settings.read_statement_timeout_s)
            raise StatementTimeout(seconds=bound) from exc
        if replica is None:
            raise
        reads.failed(replica, state.settings)
        return await _read(state, None, work, inline, raw, waits)


def _with_read_session(sessions: sessionmaker[Session], work: Callable[[Session], T]) -> T:
    with sessions() as session:
        return work(session)


def _with_read_connection(
    sessions: sessionmaker[Session], work: Callable[[psycopg.Connection], T]
) -> T:
    with _read_connection(sessions) as connection:
        return _raw_work(connection, work)


@contextmanager
def _read_connection(sessions: sessionmaker[Session]) -> Iterator[psycopg.Connection]:
    bind = sessions.kw["bind"]
    if isinstance(bind, Connection):  # sessions bound to one connection (a test's transaction)
        yield bind.connection.driver_connection
        return
    pooled = _checked_out(bind)
    try:
        yield pooled.driver_connection
    finally:
        _give_back(pooled)


def _checked_out(bind: Engine) -> PoolProxiedConnection:
    try:
        return bind.raw_connection()
    except tuple(RAW_ERRORS) as exc:  # psycopg's own, unlike a Session's
        raise _sqlalchemy_error(exc) from exc  # a database away: 503, not 500


def _give_back(pooled: PoolProxiedConnection) -> None:
    # A connection lost (a failover) is discarded, as SQLAlchemy's own sessions do: handed
    # back, it would get a ROLLBACK that fails in turn and logs a traceback per read.
    if pooled.driver_connection.closed:
        pooled.invalidate()
    else:
        pooled.close()


class Held:
    """A connection a source of hot reads keeps for the reads made on the event loop's
    thread (hot_read, inline and raw): one for those that block the loop, which run one
    at a time, each to its end before the loop goes on, and one for those that wait
    without blocking it (`waits`), which the tile cache makes one at a time. Each serves
    its reads without the gate and the pool's checkout and return each time; the two are
    the pool's connections beyond what the gate admits (make_read_engine). Lost, it is
    discarded and the next read takes another."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions
        self.pooled: PoolProxiedConnection | None = None
        # Another event loop of the process (a test's second client) reads from the pool.
        self.lock = threading.Lock()

    @contextmanager
    def connection(self) -> Iterator[psycopg.Connection]:
        bind = self.sessions.kw["bind"]
        if isinstance(bind, Connection) or not self.lock.acquire(blocking=False):
            with _read_connection(self.sessions) as connection:  # Connection: a test's
                yield connection
            return
        try:
            if self.pooled is None:
                self.pooled = _checked_out(bind)
            pooled = self.pooled
            try:
                yield pooled.driver_connection
            finally:
                if pooled.driver_connection.closed:
                    self.pooled = None
                    pooled.invalidate()
        finally:
            self.lock.release()

    def release(self) -> None:
        if self.pooled is not None:
            _give_back(self.pooled)
            self.pooled = None


def _raw_work(connection: psycopg.Connection, work: Callable[[psycopg.Connection], T]) -> T:
    try:
        return work(connection)
    except tuple(RAW_ERRORS) as exc:
        raise _sqlalchemy_error(exc) from exc


async def _translated(work: Awaitable[T]) -> T:
    try:
        return await work
    except tuple(RAW_ERRORS) as exc:
        raise _sqlalchemy_error(exc) from exc


def _sqlalchemy_error(exc: psycopg.Error) -> Exception:
    """psycopg's error as SQLAlchemy raises it, which is what the read paths handle."""
    error = next(sa for dbapi, sa in RAW_ERRORS.items() if isinstance(exc, dbapi))
    return error(None, None, exc)


def utf8_rows(connection: psycopg.Connection, sql: str, params: Mapping) -> list[tuple]:
    """The rows of a raw read, in binary format and with `text` values as their UTF-8
    bytes: the JSON documents PostgreSQL builds for an answer go to the wire as they came,
    never decoded to str and encoded again, which for 100 KB of Chinese text is much of
    the answer's Python. A column wanted as str is cast to varchar in the SQL. UTF-8
    because the engines ask for it as their client encoding (connect_args)."""
    cursor = connection.cursor(binary=True)
    cursor.adapters.register_loader("text", ByteaBinaryLoader)
    return cursor.execute(sql, params).fetchall()


@dataclass(frozen=True)
class Prepared:
    """A statement for one_row: its SQL with PostgreSQL's own placeholders ($1, ...) for
    the `:name` parameters of `sql`, their names in that order, and the name it is
    prepared under on each connection (the same for the same SQL in every process)."""

    sql: bytes
    names: tuple[str, ...]
    name: bytes

    @classmethod
    def of(cls, sql: str) -> "Prepared":
        names: list[str] = []

        def number(match: re.Match[str]) -> str:
            if match[1] not in names:
                names.append(match[1])
            return f"${names.index(match[1]) + 1}"

        text = re.sub(r"(?<![:\w]):(\w+)", number, sql).encode()
        return cls(text, tuple(names), b"rf_" + hashlib.sha1(text).hexdigest()[:24].encode())


def one_row(
    connection: psycopg.Connection, statement: Prepared, params: Mapping[str, object]
) -> list[bytes | None]:
    """The first row of `statement`, each value as PostgreSQL sends it in binary: text as
    its UTF-8, bytea as its bytes, a boolean as one byte, an integer big-endian. Sent
    through libpq itself (psycopg.pq): for a statement whose answer is one row of bytes,
    psycopg's own execution (query conversion, adaptation, its generators) was a third
    of the search's CPU in the API (docs/performance.md). Parameters go as text.

    Prepared once per connection, when it is in no transaction (a read connection,
    autocommit): a connection that does not know the name is told it then, which a
    failover or pgbouncer's handing another server connection may call for. Behind
    pgbouncer (psycopg's own prepared statements off, connect_args) and in a transaction,
    the statement goes unnamed, as a failed execution would end the transaction."""
    values = _values(statement, params)
    pgconn = connection.pgconn
    if not _named(connection):
        result = pgconn.exec_params(statement.sql, values, result_format=BINARY)
    else:
        result = pgconn.exec_prepared(statement.name, values, result_format=BINARY)
        if _sqlstate(result) == UNDEFINED_PREPARED_STATEMENT:
            _checked(pgconn, pgconn.prepare(statement.name, statement.sql))
            result = pgconn.exec_prepared(statement.name, values, result_format=BINARY)
    _checked(pgconn, result)
    return [result.get_value(0, column) for column in range(result.nfields)]


async def one_row_waiting(
    connection: psycopg.Connection, statement: Prepared, params: Mapping[str, object]
) -> list[bytes | None]:
    """one_row, the event loop serving other requests while PostgreSQL answers. A read
    cancelled before its answer came (a shutdown) closes the connection, which could
    serve nothing else with that answer unread."""
    values = _values(statement, params)
    pgconn = connection.pgconn
    try:
        if not _named(connection):
            pgconn.send_query_params(statement.sql, values, result_format=BINARY)
            result = await _result(pgconn)
        else:
            pgconn.send_query_prepared(statement.name, values, result_format=BINARY)
            result = await _result(pgconn)
            if _sqlstate(result) == UNDEFINED_PREPARED_STATEMENT:
                _checked(pgconn, pgconn.prepare(statement.name, statement.sql))
                pgconn.send_query_prepared(statement.name, values, result_format=BINARY)
                result = await _result(pgconn)
    except asyncio.CancelledError:
        connection.close()
        raise
    _checked(pgconn, result)
    return [result.get_value(0, column) for column in range(result.nfields)]


async def _result(pgconn: PGconn) -> PGresult:
    """The first result of the query just sent, once the whole answer has come, waiting
    on the connection's socket as the loop's other work goes on."""
    loop = asyncio.get_running_loop()
    while pgconn.flush():  # some of the query still to send
        await _ready(pgconn.socket, loop.add_writer, loop.remove_writer)
    results = []
    while True:
        pgconn.consume_input()
        if pgconn.is_busy():
            await _ready(pgconn.socket, loop.add_reader, loop.remove_reader)
            continue
        result = pgconn.get_result()
        if result is None:
            return results[0]
        results.append(result)


async def _ready(fd: int, watch: Callable, unwatch: Callable) -> None:
    ready = asyncio.get_running_loop().create_future()
    watch(fd, lambda: ready.done() or ready.set_result(None))
    try:
        await ready
    finally:
        unwatch(fd)


def _values(statement: Prepared, params: Mapping[str, object]) -> list[bytes | None]:
    return [None if (value := params[name]) is None else _text(value) for name in statement.names]


def _named(connection: psycopg.Connection) -> bool:
    return connection.prepare_threshold is not None and connection.pgconn.transaction_status == IDLE


def _text(value: object) -> bytes:
    if isinstance(value, date):  # datetime too
        return value.isoformat().encode()
    return str(value).encode()


def _sqlstate(result: PGresult) -> bytes | None:
    return result.error_field(DiagnosticField.SQLSTATE)


def _checked(pgconn: PGconn, result: PGresult) -> None:
    """Raises what psycopg would have: OperationalError for a lost connection, else the
    class of the error's SQLSTATE (QueryCanceled for a statement past its bound)."""
    if result.status in (ExecStatus.TUPLES_OK, ExecStatus.COMMAND_OK):
        return
    if pgconn.status != ConnStatus.OK:
        raise psycopg.OperationalError(pgconn.get_error_message())
    raise psycopg.errors.error_from_result(result)


# psycopg's errors of a raw read, raised as SQLAlchemy raises them from a Session: lost
# connections a 503 (core.errors), and a replica leaves the rotation; a value the
# database refuses the 422 it is, not a 500.
RAW_ERRORS: dict[type[psycopg.Error], type[Exception]] = {
    psycopg.OperationalError: OperationalError,
    psycopg.InternalError: InternalError,
    psycopg.DataError: DataError,
}


BOUND = "statement_timeout_s"  # in Session.info: the bound of a bounded session


@event.listens_for(Session, "after_begin")
def _bound_transaction(session: Session, _transaction: object, connection: Connection) -> None:
    # On the driver's connection: through SQLAlchemy's execution the SET cost an ordinary
    # request a fifth of its CPU. The bound is an integer, never a caller's text.
    if (seconds := session.info.get(BOUND)) is not None:
        statement = f"SET LOCAL statement_timeout = {milliseconds(seconds)}"
        connection.connection.driver_connection.execute(statement)


@contextmanager
def bounded(sessions: sessionmaker[Session], seconds: float) -> Iterator[Session]:
    """A session each of whose statements may run `seconds` at most; one that runs longer
    raises StatementTimeout naming the bound. The bound is a SET LOCAL as each of its
    transactions begins, so it ends with the transaction, holds behind pgbouncer in
    transaction mode too, and never reaches the workers, import jobs and commands that
    share the engine."""
    with sessions() as session:
        session.info[BOUND] = seconds
        try:
            yield session
        except OperationalError as exc:
            if timed_out(exc):
                raise StatementTimeout(seconds=seconds) from exc
            raise


async def _admitted(request: Request) -> AsyncIterator[None]:
    async with admitted(request.app.state):
        yield


def get_session(
    request: Request, _admission: Annotated[None, Depends(_admitted, scope="function")]
) -> Iterator[Session]:
    """One transaction per request, each statement bound by statement_timeout_s: commit at
    the edge, or roll back on any error. Admitted first (admitted)."""
    state = request.app.state
    with bounded(state.sessionmaker, state.settings.statement_timeout_s) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


# scope="function": commit before the response is sent, so a failed commit is an error answer.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]


def insert(session: Session, row: T) -> T:
    """Adds the row and reads it back as stored: its id, defaults and what triggers set."""
    session.add(row)
    session.flush()
    session.refresh(row)
    return row


def flush_or_raise(session: Session, errors: Mapping[str, Callable[[], Exception]]) -> None:
    """Flushes; a statement that breaks one of the constraints named in `errors` raises
    that constraint's error instead, any other the IntegrityError itself."""
    try:
        session.flush()
    except IntegrityError as exc:
        error = errors.get(violated_constraint(exc) or "")
        if error is None:
            raise
        raise error() from exc
