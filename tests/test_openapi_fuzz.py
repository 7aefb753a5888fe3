"""A schemathesis pass over the OpenAPI document: no input may produce a 5xx, and every
answer must match what the document declares. Real ids are mixed into the generated ones,
so that the fuzzing reaches existing facilities and not only 404s."""

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

REAL_IDS: list[int] = []
# An admin key, so that the fuzzing reaches the code behind the authorisation checks.
ADMIN: dict[str, str] = {}


@pytest.fixture
def api_schema(app, create):
    REAL_IDS[:] = [create()["id"] for _ in range(3)]
    ADMIN.clear()
    return schemathesis.openapi.from_asgi("/openapi.json", app)


def admin_headers(app) -> dict[str, str]:
    """The key is made through the app's own sessions when the cases run: schemathesis
    runs them after the fixture's setup, so a key made there may no longer be visible."""
    if not ADMIN:
        from app.accounts import service as accounts
        from app.accounts.schemas import ApiKeyCreate

        with app.state.sessionmaker() as session:
            created = accounts.create_key(
                session, ApiKeyCreate(name="fuzz", role="admin"), actor="test"
            )
            session.commit()
        ADMIN["Authorization"] = f"Bearer {created.secret}"
    return dict(ADMIN)


# An event stream never ends: fuzzing it would wait forever (tests/alerts/test_stream.py).
schema = schemathesis.pytest.from_fixture("api_schema").exclude(path="/v1/alerts/stream")


@schemathesis.hook
def map_path_parameters(context, path_parameters):
    drawn = (path_parameters or {}).get("facility_id")
    # Most drawn ids become real ones, picked by the drawn value so that runs replay.
    if isinstance(drawn, int) and REAL_IDS and drawn % 10 < 7:
        path_parameters["facility_id"] = REAL_IDS[drawn % len(REAL_IDS)]
    return path_parameters


@schema.parametrize()
@settings(
    # A hundred operations, some of them seconds each (statistics as of a day, campaign
    # evaluations, workbooks): enough examples to reach every parameter's bounds.
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_api_never_fails_and_matches_its_schema(case):
    case.call_and_validate(
        headers=admin_headers(case.operation.schema.app),
        checks=[
            not_a_server_error,
            status_code_conformance,
            content_type_conformance,
            response_schema_conformance,
        ],
    )
