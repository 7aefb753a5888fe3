import asyncio
from collections.abc import Callable, Iterator, Mapping
from typing import Annotated, TypeVar

from fastapi import Depends, Request
from sqlalchemy import Engine, create_engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import State

from app.config import Settings
from app.core.errors import violated_constraint


def make_engine(settings: Settings) -> Engine:
    # No pre-ping: it costs a round trip per request; a connection lost to a database
    # restart fails one request with 503 (see core.errors) and is then replaced.
    # JIT off: once the tables grow its compile time is many times the short queries it
    # would speed up (docs/performance.md, Database sessions).
    return create_engine(
        settings.sqlalchemy_url,
        pool_size=settings.db_pool_size,
        connect_args={"options": "-c jit=off"},
    )


def make_read_engine(settings: Settings) -> Engine:
    """For hot read paths (nearby search, OGC items, tiles): autocommit, so a request is one
    round trip and no ROLLBACK; a fixed pool that bounds how many run at once (see
    Settings.read_pool_size); and planner settings that keep KNN searches on their index:
    past a million rows the planner prefers a parallel bitmap scan of the whole radius,
    sorted, to the KNN index scan that stops after `limit` rows, which is far quicker."""
    return create_engine(
        settings.sqlalchemy_url,
        pool_size=settings.read_pool_size,
        max_overflow=0,
        pool_timeout=settings.read_pool_timeout_s,
        isolation_level="AUTOCOMMIT",
        connect_args={
            "options": "-c jit=off -c enable_bitmapscan=off -c max_parallel_workers_per_gather=0"
            " -c default_transaction_read_only=on"
        },
    )


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False, autoflush=False)


T = TypeVar("T")


async def hot_read(state: State, work: Callable[[Session], T], *, inline: bool = False) -> T:
    """`work` with a read engine session, in a worker thread. At most read_pool_size run at
    once; the rest wait their turn here, first come first served, as coroutines: parked on
    the pool as threads, they would wake in no fair order and take the interpreter lock
    from the requests in flight, which lengthens the tail (docs/performance.md). A request
    that waits longer than read_pool_timeout_s gets 503, as from the pool's own TimeoutError.

    `inline` runs `work` on the event loop's thread instead, for one short query whatever
    the input (a nearby search without open_now: about a millisecond). The hop to a thread
    costs it more than the wait costs the process: the worker thread and the loop would
    trade the interpreter lock at each of psycopg's reads of a 100 KB answer. The gate
    still comes first: past it a connection is free, so the loop never blocks on the
    pool."""
    try:
        async with asyncio.timeout(state.settings.read_pool_timeout_s):
            await state.read_gate.acquire()
    except TimeoutError:
        raise PoolTimeout("every hot read connection stayed busy") from None
    try:
        if inline:
            return _with_read_session(state.read_sessionmaker, work)
        return await run_in_threadpool(_with_read_session, state.read_sessionmaker, work)
    finally:
        state.read_gate.release()


def _with_read_session(sessions: sessionmaker[Session], work: Callable[[Session], T]) -> T:
    with sessions() as session:
        return work(session)


def get_session(request: Request) -> Iterator[Session]:
    """One transaction per request: commit at the edge, or roll back on any error."""
    with request.app.state.sessionmaker() as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


# scope="function": commit before the response is sent, so a failed commit is an error answer.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]


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
