"""The worker against committed data, as processes share it: claims by two sessions at
once are disjoint, and a running app delivers a committed write by itself."""

import json
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session

from app.accounts import service as accounts
from app.accounts.schemas import ApiKeyCreate
from app.config import Settings
from app.main import create_app
from app.webhooks import repository
from tests.conftest import BASE_PAYLOAD, run_migrations
from tests.live import wait_for
from tests.webhooks.conftest import new_secret


@pytest.fixture(scope="module")
def committed(make_database) -> Iterator[tuple[Settings, Engine, str]]:
    """A database of its own whose writes are committed, and an admin key."""
    url = make_database()
    settings = Settings(
        database_url=url,
        webhook_allow_private=True,
        webhook_poll_s=0.1,
        webhook_sweep_s=3600,
    )
    engine = create_engine(settings.sqlalchemy_url)
    with engine.begin() as connection:
        run_migrations(connection)
    with Session(engine) as session:
        admin = accounts.create_key(session, ApiKeyCreate(name="worker", role="admin"), actor="t")
        session.commit()
    yield settings, engine, admin.secret
    engine.dispose()


def test_two_processes_never_claim_one_delivery(committed):
    settings, engine, _ = committed
    with engine.begin() as connection:
        key_id = connection.scalar(text("SELECT min(id) FROM api_key"))
        subscription = connection.scalar(
            text(
                "INSERT INTO webhook_subscription (key_id, url, events, secret)"
                " VALUES (:key, 'http://127.0.0.1:9/', '{alert.received}', :secret) RETURNING id"
            ),
            {"key": key_id, "secret": new_secret()},
        )
        connection.execute(
            text(
                "INSERT INTO webhook_delivery (subscription_id, event_id, event_type, body)"
                " SELECT :s, gen_random_uuid(), 'alert.received', '{}' FROM generate_series(1, 30)"
            ),
            {"s": subscription},
        )
    now = datetime.now(UTC)
    one, two = Session(engine), Session(engine)
    try:
        first = repository.claim(one, now=now, batch=20, lease_s=60)  # locks held, open
        second = repository.claim(two, now=now, batch=20, lease_s=60)
        assert len(first) == 20 and len(second) == 10
        assert not {r.id for r in first} & {r.id for r in second}
        one.commit()
        two.commit()
        assert repository.claim(one, now=now, batch=20, lease_s=60) == []  # leased
        one.commit()
    finally:
        one.close()
        two.close()
        with engine.begin() as connection:
            connection.execute(text("DELETE FROM webhook_subscription"))


def test_a_running_app_delivers_a_committed_report(committed, receiver):
    settings, engine, admin = committed
    headers = {"Authorization": f"Bearer {admin}"}
    with TestClient(create_app(settings), headers=headers) as client:
        created = client.post("/v1/facilities", json=BASE_PAYLOAD)
        assert created.status_code == 201, created.text
        hook = {"url": receiver.url, "events": ["report.created"], "secret": new_secret()}
        assert client.post("/v1/webhooks", json=hook).status_code == 201
        sent = client.post(
            f"/v1/facilities/{created.json()['id']}/reports", json={"kind": "closed"}
        )
        assert sent.status_code == 201
        wait_for(lambda: status(engine) == ["delivered"], "the worker did not deliver", 60)
    [got] = receiver.requests
    assert json.loads(got.body)["data"]["id"] == sent.json()["id"]
    with engine.connect() as connection:
        assert connection.scalar(text("SELECT count(*) FROM webhook_outbox")) == 0


def status(engine: Engine) -> list[str]:
    with engine.connect() as connection:
        return list(connection.scalars(text("SELECT status FROM webhook_delivery")))
