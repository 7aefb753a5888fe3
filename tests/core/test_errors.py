import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

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
