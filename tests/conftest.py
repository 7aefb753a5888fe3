"""Tests run on a real PostGIS: a throwaway database built by the Alembic migrations,
each test inside a transaction that is rolled back."""

import copy
import os
import socket
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from alembic import command
from alembic.config import Config
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Connection, Engine, create_engine, make_url, text
from sqlalchemy.orm import Session, sessionmaker

from app.config import Settings
from app.db.replicas import Reads
from app.main import create_app


def _server_url() -> str:
    url = os.environ.get("DATABASE_URL")
    if not url:
        pytest.exit("DATABASE_URL must name a PostGIS server where databases may be created", 2)
    return Settings(database_url=url).sqlalchemy_url


@pytest.fixture(scope="session")
def make_database() -> Iterator:
    """Creates empty throwaway databases on the server; drops them all at the end."""
    server = create_engine(_server_url(), isolation_level="AUTOCOMMIT")
    created: list[str] = []

    def make() -> str:
        name = f"rf_test_{uuid.uuid4().hex[:10]}"
        with server.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        created.append(name)
        return make_url(_server_url()).set(database=name).render_as_string(hide_password=False)

    yield make
    with server.connect() as connection:
        for name in created:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    server.dispose()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def run_migrations(connection: Connection, revision: str = "head", *, down: bool = False) -> None:
    config = Config(str(Settings(database_url="unused").alembic_ini))
    config.attributes["connection"] = connection
    (command.downgrade if down else command.upgrade)(config, revision)


@pytest.fixture(scope="session")
def settings(make_database, tmp_path_factory) -> Settings:
    # Uploaded photos go to a throwaway directory, not the checkout's .data/media.
    return Settings(database_url=make_database(), media_dir=tmp_path_factory.mktemp("media"))


@pytest.fixture(scope="session")
def engine(settings: Settings) -> Iterator[Engine]:
    engine = create_engine(settings.sqlalchemy_url)
    with engine.begin() as connection:
        run_migrations(connection)
    yield engine
    engine.dispose()


@pytest.fixture
def connection(engine: Engine) -> Iterator[Connection]:
    with engine.connect() as connection:
        transaction = connection.begin()
        yield connection
        transaction.rollback()


@pytest.fixture
def session(connection: Connection) -> Iterator[Session]:
    with Session(connection, join_transaction_mode="create_savepoint") as session:
        yield session


@pytest.fixture
def app(settings: Settings, engine: Engine, connection: Connection) -> FastAPI:
    """The real app, its per-request sessions bound to the test's transaction: each
    request's commit or rollback acts on a savepoint inside it."""
    app = create_app(settings)
    app.state.sessionmaker = sessionmaker(
        connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    app.state.reads = Reads(app.state.sessionmaker)
    return app


def write_past_range_check(
    connection: Connection, table: str, column: str, row_id: int, value: str
) -> None:
    """Stores a value the range check of migration 0016 refuses, as a row written before
    that migration holds it: the check is taken off and put back NOT VALID."""
    name = f"ck_{table}_{column}_range"
    definition = connection.execute(
        text("SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = :name"),
        {"name": name},
    ).scalar_one()
    connection.execute(text(f"ALTER TABLE {table} DROP CONSTRAINT {name}"))
    connection.execute(
        text(f"UPDATE {table} SET {column} = :value WHERE id = :id"), {"value": value, "id": row_id}
    )
    connection.execute(text(f"ALTER TABLE {table} ADD CONSTRAINT {name} {definition} NOT VALID"))


@pytest.fixture
def make_key(connection: Connection):
    """Creates an API key in the test's transaction; returns the secret."""
    from app.accounts import service as accounts
    from app.accounts.schemas import ApiKeyCreate

    def make(
        role: str,
        *,
        admin_codes: list[str] = (),
        facility_ids: list[int] = (),
        rate_per_minute: int | None = None,
    ) -> str:
        with Session(connection, join_transaction_mode="create_savepoint") as session:
            created = accounts.create_key(
                session,
                ApiKeyCreate(
                    name=f"test {role}",
                    role=role,
                    admin_codes=list(admin_codes),
                    facility_ids=list(facility_ids),
                    rate_per_minute=rate_per_minute,
                ),
                actor="test",
            )
            session.commit()
        return created.secret

    return make


@pytest.fixture
def client_for(app: FastAPI, make_key):
    """An authenticated client for a role (and scope), or anonymous with role None."""

    def make(role: str | None, **scope: Any) -> TestClient:
        if role is None:
            return TestClient(app)
        return TestClient(app, headers={"Authorization": f"Bearer {make_key(role, **scope)}"})

    return make


@pytest.fixture
def client(client_for) -> TestClient:
    """An admin client: every write needs a key, and most tests are about something else.
    Not entered as a context manager: the lifespan would make its own engine."""
    return client_for("admin")


@pytest.fixture
def public_client(app: FastAPI) -> TestClient:
    """The anonymous public."""
    return TestClient(app)


BASE_PAYLOAD: dict[str, Any] = {
    "code": "RF-340104-T000001",
    "name": "天鹅湖小区人防地下车库",
    "address": "合肥市蜀山区怀宁路1688号",
    "admin_code": "340104",
    "location": {"type": "Point", "coordinates": [117.2281, 31.8262]},
    "entrances": [
        {"kind": "vehicle", "location": {"type": "Point", "coordinates": [117.2285, 31.8264]}},
        {
            "kind": "pedestrian",
            "accessible": True,
            "name": "2号口",
            "location": {"type": "Point", "coordinates": [117.2277, 31.8259]},
        },
    ],
    "construction_form": "attached",
    "wartime_function": "personnel_shelter",
    "wartime_subtype": "class_2_shelter",
    "nuclear_level": "6",
    "conventional_level": "6",
    "chemical_class": "C",
    "building_area": 12000,
    "usable_area": 10500,
    "shelter_area": 8000,
    "capacity_persons": 8000,
    "capacity_basis": "area_norm",
    "floors_below_ground": 2,
    "completion_year": 2019,
    "owner_unit": "合肥天鹅湖置业有限公司",
    "managing_unit": "合肥万家物业服务有限公司",
    "managing_authority": "合肥市国防动员办公室",
    "keyholder_name": "王建国",
    "keyholder_phone": "13905510001",
    "status": "in_service",
    "conversion_hours": 72,
    "peacetime_parking_spaces": 320,
    "data_source": "2023年人防工程普查",
    "verified_at": "2024-05-10T09:00:00+08:00",
    "verified_by": "蜀山区人防办 李明",
}


# Hefei's local registry code form, as its plaques carry them: 肥人防2019-012.
HEFEI_CODE_FORM = {
    "pattern": "^肥人防-?[0-9]{4}-[0-9]{3,4}$",
    "example": "肥人防2019-012",
    "note": "合肥市人防工程编号：肥人防 + 竣工年份 + 序号",
}


@pytest.fixture
def hefei_code_form(connection: Connection) -> dict[str, str]:
    connection.execute(
        text(
            "INSERT INTO registry_code_form (admin_code, pattern, example, note) "
            "VALUES ('340100', :pattern, :example, :note)"
        ),
        HEFEI_CODE_FORM,
    )
    return HEFEI_CODE_FORM


@pytest.fixture
def payload():
    """A valid create body; keyword overrides replace top-level fields."""

    def make(**overrides: Any) -> dict[str, Any]:
        return {**copy.deepcopy(BASE_PAYLOAD), **overrides}

    return make


@pytest.fixture
def create(client, payload):
    """POSTs a facility built from the base payload and returns the created document."""
    serial = iter(range(1, 1_000_000))

    def make(**overrides: Any) -> dict[str, Any]:
        body = payload(code=f"RF-T-{next(serial):06d}", **overrides)
        response = client.post("/v1/facilities", json=body)
        assert response.status_code == 201, response.text
        return response.json()

    return make


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups
def pytest_collection_modifyitems(config, items) -> None:
    """The cluster drills (tests/test_cluster.py) take minutes and a cluster of their own:
    they run when asked for with RF_CLUSTER_TESTS=1, and are otherwise not collected.

    Under pytest-xdist (`--dist loadgroup`, as ./scripts/test runs it) a module's tests stay
    on one worker, so that its live server or database is made once; the browser tests
    share one demo registry and one server, so they stay together too."""
    if os.environ.get("RF_CLUSTER_TESTS") != "1":
        drills = [item for item in items if item.get_closest_marker("cluster")]
        if drills:
            config.hook.pytest_deselected(items=drills)
            items[:] = [item for item in items if not item.get_closest_marker("cluster")]
    for item in items:
        item.add_marker(pytest.mark.xdist_group(_group(item)))
    # The longest groups go first, so that no worker is left with one of them at the end.
    items.sort(key=lambda item: _group(item) not in LONGEST_GROUPS)


# The groups that take a minute or more each (`./scripts/test --durations=40` shows them).
LONGEST_GROUPS = (
    "tests/test_openapi_fuzz.py",
    "browser",
    "tests/test_security.py",
    "tests/test_serving.py",
    "tests/imports/test_cli.py",
    "tests/alerts/test_stream.py",
)


def _group(item: pytest.Item) -> str:
    module = item.nodeid.split("::")[0]
    return "browser" if module.startswith("tests/browser/") else module
