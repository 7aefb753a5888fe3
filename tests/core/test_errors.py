import logging

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from app.alerts.errors import AlertNotFound, StreamsUnavailable, too_many_streams
from app.core.errors import install_error_handlers


@pytest.mark.parametrize(
    "failure",
    [
        PoolTimeout("QueuePool limit of size 4 overflow 0 reached"),
        OperationalError("SELECT 1", {}, Exception("server closed the connection")),
    ],
)
def test_an_unavailable_or_overloaded_database_is_a_503_to_retry(failure):
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/busy")
    def busy() -> None:
        raise failure

    response = TestClient(app).get("/busy")
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["retry-after"] == "1"
    assert response.json()["detail"] == "the database is unavailable; try again"


def test_a_write_that_meets_a_standby_is_a_503_to_retry(engine):
    # What PostgreSQL answers a write on a standby, as a failover's demoted primary is one
    # for a moment while the proxy still sends it the primary's connections.
    app = FastAPI()
    install_error_handlers(app)

    @app.put("/moving")
    def moving() -> None:
        with engine.connect() as connection:
            connection.execute(text("SET TRANSACTION READ ONLY"))
            connection.execute(text("UPDATE api_key SET name = name WHERE false"))

    response = TestClient(app).put("/moving")
    assert response.status_code == 503
    assert response.headers["retry-after"] == "1"


def test_a_value_the_database_refuses_is_logged_and_answered_in_its_words(engine, caplog):
    """Inputs are checked before they reach the database; one that is not still gets the
    driver's reason, not a bare "invalid value", and the missing check is logged."""
    from sqlalchemy import text

    app = FastAPI()
    install_error_handlers(app)

    @app.get("/echo")
    def echo(value: str) -> None:
        with engine.connect() as connection:
            connection.execute(text("SELECT CAST(:value AS text)"), {"value": value})

    with caplog.at_level(logging.WARNING, logger="app.core.errors"):
        response = TestClient(app).get("/echo", params={"value": "a\x00b"})
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert "NUL" in response.json()["detail"]
    assert any("value refused on GET /echo" in r.getMessage() for r in caplog.records)


def test_a_refusal_that_passes_with_time_says_when_to_ask_again():
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/stream")
    def stream() -> None:
        raise too_many_streams(2)

    @app.get("/missing")
    def missing() -> None:
        raise AlertNotFound(7)

    client = TestClient(app)
    refused = client.get("/stream")
    assert refused.status_code == 503
    assert refused.headers["retry-after"] == str(StreamsUnavailable.retry_after)
    assert "retry-after" not in client.get("/missing").headers


@pytest.mark.parametrize("declared", ["R:6DjYvHj", "-1", "1e3", " 12", "12,12"])
def test_a_content_length_that_is_not_a_number_is_a_400(client, declared):
    """Framing that cannot be read (RFC 9112 §6.3) is the request's error, on any route,
    not a body too large; the connection is closed after the answer."""
    answer = client.get("/v1/divisions", headers={"Content-Length": declared})
    assert answer.status_code == 400
    assert answer.headers["content-type"] == "application/problem+json"
    assert "Content-Length" in answer.json()["detail"]
    assert answer.headers["connection"] == "close"


@pytest.mark.parametrize("digits", [19, 5000])
def test_a_content_length_of_many_digits_is_too_large_not_a_500(client, digits):
    answer = client.post("/v1/divisions", headers={"Content-Length": "9" * digits})
    assert answer.status_code == 413
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.headers["connection"] == "close"
