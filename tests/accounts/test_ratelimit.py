import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import sessionmaker

from app.main import create_app

PROBLEM = "application/problem+json"


@pytest.fixture
def limited_app(settings, engine, connection) -> FastAPI:
    app = create_app(
        settings.model_copy(
            update={"anonymous_rate_per_minute": 1, "anonymous_burst": 3, "report_burst": 2}
        )
    )
    app.state.sessionmaker = sessionmaker(
        connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    return app


def test_anonymous_callers_get_429_with_retry_after(limited_app):
    public = TestClient(limited_app)
    assert [public.get("/v1/facilities").status_code for _ in range(3)] == [200] * 3
    response = public.get("/v1/facilities")
    assert response.status_code == 429
    assert response.headers["content-type"] == PROBLEM
    assert int(response.headers["retry-after"]) >= 1
    assert response.json()["status"] == 429
    # Probes are never throttled; neither is another address.
    assert public.get("/healthz").status_code == 200
    other = TestClient(limited_app, client=("203.0.113.9", 50000))
    assert other.get("/v1/facilities").status_code == 200


def test_keys_are_not_throttled_but_failed_keys_are(limited_app, make_key):
    admin = TestClient(limited_app, headers={"Authorization": f"Bearer {make_key('admin')}"})
    assert all(admin.get("/v1/facilities").status_code == 200 for _ in range(6))
    guesser = TestClient(limited_app, headers={"Authorization": "Bearer rf_guess"})
    statuses = [guesser.get("/v1/facilities").status_code for _ in range(4)]
    assert statuses == [401, 401, 401, 429]
    assert "retry-after" in guesser.get("/v1/facilities").headers
