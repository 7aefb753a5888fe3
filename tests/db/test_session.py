"""Time bounds (db.session): a statement a request runs past its bound is cancelled and
answered 504, with nothing half-written and its replica kept; jobs that are no request run
unbound. On a database of the module's own, with real transactions, as the statements
are held up by another session's lock, which the test's own transaction would not show."""

import asyncio
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.orm import Session

from app.accounts import service as accounts
from app.accounts.schemas import ApiKeyCreate
from app.config import Settings
from app.db.replicas import Reads, replica
from app.db.session import bounded, make_engine, make_read_engine, make_sessionmaker
from app.main import create_app
from tests.conftest import run_migrations

BOUND = 0.2
ZH = {"Accept-Language": "zh-CN"}


@pytest.fixture(scope="module")
def settings(make_database, tmp_path_factory) -> Settings:
    settings = Settings(
        database_url=make_database(),
        media_dir=tmp_path_factory.mktemp("media"),
        read_statement_timeout_s=BOUND,
        statement_timeout_s=BOUND,
        export_statement_timeout_s=BOUND,
    )
    engine = create_engine(settings.sqlalchemy_url)
    with engine.begin() as connection:
        run_migrations(connection)
    engine.dispose()
    return settings


@pytest.fixture(scope="module")
def engine(settings: Settings) -> Iterator[Engine]:
    engine = make_engine(settings)
    yield engine
    engine.dispose()


@pytest.fixture
def app(settings: Settings, engine: Engine) -> Iterator[FastAPI]:
    """The app as `rf serve` makes it, one replica in rotation (the same database: a
    standby's statements are bound as the primary's hot reads are), without the lifespan's
    workers."""
    app = create_app(settings)
    app.state.engine = engine
    app.state.sessionmaker = make_sessionmaker(engine)
    primary_reads = make_read_engine(settings)
    app.state.reads = Reads(make_sessionmaker(primary_reads), [replica(settings, engine.url)])
    app.state.reads.update(app.state.reads.replicas[0], 0.0, settings)
    yield app
    primary_reads.dispose()
    app.state.reads.dispose()


@pytest.fixture(scope="module")
def admin(settings: Settings, engine: Engine) -> dict[str, str]:
    with Session(engine) as session:
        created = accounts.create_key(
            session, ApiKeyCreate(name="timeouts", role="admin"), actor="test"
        )
        session.commit()
    return {"Authorization": f"Bearer {created.secret}"}


@contextmanager
def locked(engine: Engine, table: str) -> Iterator[None]:
    """`table` locked by another session until the block ends: what reads or writes it
    waits, as behind a migration."""
    with engine.connect() as other:
        other.execute(text("SET LOCAL lock_timeout = '10s'"))
        other.execute(text(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE"))
        yield
        other.rollback()


WAITING = "SELECT count(*) FROM pg_locks WHERE NOT granted AND relation = CAST(:table AS regclass)"


def count(engine: Engine, sql: str, **params: object) -> int:
    with engine.connect() as connection:
        return connection.scalar(text(sql), params)


def test_a_hot_read_past_its_bound_is_a_504_and_its_replica_stays(app, engine):
    standby = app.state.reads.replicas[0]
    on_primary = []
    event.listen(app.state.reads.primary.kw["bind"], "checkout", lambda *_: on_primary.append(1))
    with locked(engine, "facility"):
        answer = TestClient(app).get("/ogc/collections/facilities/items?limit=5")
        chinese = TestClient(app).get("/ogc/collections/facilities/items?limit=5", headers=ZH)
    assert answer.status_code == 504, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert "retry-after" not in answer.headers
    problem = answer.json()
    assert problem["type"] == "/problems/statement-timeout"
    assert "limit of 0.2 s" in problem["detail"]
    assert chinese.status_code == 504
    assert chinese.json()["title"] == "数据库查询超时" and "0.2 秒" in chinese.json()["detail"]
    # Neither a lost replica nor a read to make again on the primary.
    assert standby.in_rotation and app.state.reads.next() is standby
    assert on_primary == []
    assert TestClient(app).get("/ogc/collections/facilities/items?limit=5").status_code == 200


def test_a_write_past_its_bound_leaves_nothing_written(app, engine, admin, payload):
    body = payload(code="RF-340104-TIMEOUT1")
    tables = ("facility", "entrance", "audit_event")
    before = {table: count(engine, f"SELECT count(*) FROM {table}") for table in tables}
    # The facility's row is written, then its audit record waits behind the lock.
    with locked(engine, "audit_event"):
        answer = TestClient(app, headers=admin).post("/v1/facilities", json=body)
    assert answer.status_code == 504, answer.text
    assert "limit of 0.2 s" in answer.json()["detail"]
    assert {table: count(engine, f"SELECT count(*) FROM {table}") for table in tables} == before
    # The bound was the request's transaction's: the pool's connections are back unbound,
    # for the workers and jobs that share the engine.
    with engine.connect() as connection:
        assert connection.scalar(text("SHOW statement_timeout")) == "0"
    created = TestClient(app, headers=admin).post("/v1/facilities", json=body)
    assert created.status_code == 201, created.text


def test_each_transaction_of_a_bounded_session_is_bound_and_nothing_after(engine):
    sessions = make_sessionmaker(engine)
    with bounded(sessions, BOUND) as session:
        assert session.scalar(text("SHOW statement_timeout")) == "200ms"
        session.commit()  # as the request storing an import's upload does before reading
        assert session.scalar(text("SHOW statement_timeout")) == "200ms"
    with sessions() as session:
        assert session.scalar(text("SHOW statement_timeout")) == "0"


def test_an_import_job_waits_past_the_requests_bound(app, engine, admin):
    rows = (
        "工程编号,工程名称,地址,行政区划代码,经度,纬度,建设形式,战时功能,使用状态\n"
        "RF-340104-TIMEOUT2,天鹅湖人防地下车库,合肥市蜀山区怀宁路1号,340104,117.2281,31.8262,"
        "结建,人员掩蔽工程,在用\n"
    )
    held = threading.Event()

    def hold() -> None:
        with locked(engine, "facility"):
            held.set()
            while count(engine, WAITING, table="facility") == 0:
                time.sleep(0.05)
            time.sleep(10 * BOUND)  # the job waits many times the request's bound

    holder = threading.Thread(target=hold)
    holder.start()
    held.wait()
    # The job runs as the answer's background task, within the call.
    created = TestClient(app, headers=admin).post(
        "/v1/imports", params={"filename": "f.csv"}, content=rows.encode()
    )
    holder.join()
    assert created.status_code == 202, created.text
    job = TestClient(app, headers=admin).get(f"/v1/imports/{created.json()['id']}").json()
    assert job["status"] == "succeeded" and job["summary"]["inserted"] == 1, job


def test_an_export_has_its_own_bound(app, engine, admin, settings):
    app.state.settings = settings.model_copy(update={"export_statement_timeout_s": 0.3})
    # The request's check of the filter reads the facilities only; the file's rows wait.
    with locked(engine, "entrance"):
        answer = TestClient(app, headers=admin).get("/v1/export?format=gpkg")
    assert answer.status_code == 504, answer.text
    assert "limit of 0.3 s" in answer.json()["detail"]


def test_a_search_past_its_bound_on_the_fast_path_is_not_asked_again(app, engine):
    standby = app.state.reads.replicas[0]
    checkouts = []
    event.listen(standby.engine, "checkout", lambda *_: checkouts.append(1))
    with locked(engine, "use_search"):
        answer = TestClient(app).get("/v1/parking/nearby?lon=117.2272&lat=31.8206")
    assert answer.status_code == 504, answer.text
    assert answer.json()["type"] == "/problems/statement-timeout"
    assert len(checkouts) == 1  # the route that the fast path handed it to asked nothing


def test_behind_pgbouncer_a_requests_bound_needs_no_startup_option(settings, admin):
    """pgbouncer in transaction mode takes no startup options: the request's bound is a
    SET LOCAL, which holds there as well (the hot reads' is the reader role's)."""
    bouncer = settings.model_copy(update={"db_pgbouncer": True})
    app = create_app(bouncer)
    engine = make_engine(bouncer)
    app.state.sessionmaker = make_sessionmaker(engine)
    try:
        with locked(engine, "facility"):
            answer = TestClient(app, headers=admin).get("/v1/facilities")
        assert answer.status_code == 504, answer.text
        with engine.connect() as connection:
            assert connection.scalar(text("SHOW statement_timeout")) == "0"
    finally:
        engine.dispose()


def test_a_request_waiting_for_the_primarys_pool_past_its_timeout_is_a_503(app, public_client):
    """Its turn is taken on the event loop (db.session.admitted), before a worker thread."""
    app.state.settings = app.state.settings.model_copy(update={"db_pool_timeout_s": 0.05})
    app.state.primary_gate = asyncio.Semaphore(0)  # every connection of the pool taken
    response = public_client.get("/v1/divisions")
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["retry-after"] == "1"
    app.state.primary_gate = asyncio.Semaphore(1)
    assert public_client.get("/v1/divisions").status_code == 200
