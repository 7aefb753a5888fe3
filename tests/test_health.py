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
