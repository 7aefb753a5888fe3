import asyncio


def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_reports_the_migration_head(client, app):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["revision"] == app.state.migration_head


def test_readyz_fails_when_schema_is_behind(client, connection, app):
    connection.exec_driver_sql("UPDATE alembic_version SET version_num = 'outdated'")
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["retry-after"] == "1"
    assert (
        response.json()["detail"]
        == f"schema at revision outdated, expected {app.state.migration_head}"
    )


def test_readyz_answers_at_once_while_every_turn_for_the_pool_is_taken(client, app):
    """A burst holds every connection of the primary's pool: the probe does not queue
    behind it (an orchestrator would take a busy process out of service)."""
    app.state.primary_gate = asyncio.Semaphore(0)
    app.state.settings = app.state.settings.model_copy(update={"db_pool_timeout_s": 0.05})
    assert client.get("/v1/divisions").status_code == 503  # the queue is full
    response = client.get("/readyz")
    assert response.status_code == 200, response.text
    assert response.json()["revision"] == app.state.migration_head
