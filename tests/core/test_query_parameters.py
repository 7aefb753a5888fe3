"""An unknown query parameter on any /v1 route is a 400 naming it: every route of the app
is walked, so a route added later is held to the rule without being listed here."""

import re

import pytest
from fastapi.routing import APIRoute

from app.core.schemas import STRICT_QUERY_PREFIXES, declared_query_parameters

PROBLEM = "application/problem+json"


def api_routes(router):
    """The app's operations: included routers are branches, the APIRoutes their leaves."""
    for route in router.routes:
        if isinstance(route, APIRoute):
            yield route
        elif hasattr(route, "original_router"):
            yield from api_routes(route.original_router)


@pytest.fixture
def routes(app) -> list[tuple[str, str, APIRoute]]:
    """(method, path with its parameters filled in, route) of every /v1 operation."""
    found = []
    for route in api_routes(app.router):
        if not route.path.startswith(STRICT_QUERY_PREFIXES):
            continue
        # Ids and codes that exist nowhere: the parameter check comes first.
        filled = re.sub(r"\{[^}]*(id|code)[^}]*\}", "1", route.path)
        filled = re.sub(r"\{[^}]+\}", "x", filled)
        found += [(method, filled, route) for method in sorted(route.methods)]
    return found


def test_every_v1_route_is_walked(routes):
    paths = {path for _, path, _ in routes}
    # a sample of each family, so an empty walk cannot pass
    for expected in ("/v1/facilities", "/v1/facilities/1", "/v1/parking/nearby", "/v1/export"):
        assert expected in paths
    assert len(routes) > 40


def test_an_unknown_parameter_is_a_400_naming_it_on_every_route(client, routes):
    for method, path, _ in routes:
        response = client.request(method, path, params={"coordsystem": "gcj02"})
        assert response.status_code == 400, (method, path, response.status_code, response.text)
        assert response.headers["content-type"] == PROBLEM
        body = response.json()
        assert "'coordsystem'" in body["detail"], (method, path)
        assert body["errors"] == [{"field": "query.coordsystem", "message": "unknown parameter"}]


def test_declared_parameters_are_never_called_unknown(client, routes):
    for method, path, route in routes:
        if method != "GET":
            continue
        for name in declared_query_parameters(route):
            response = client.get(path, params={name: "1"})
            if response.status_code == 400:
                assert "unknown query parameter" not in response.json()["detail"], (path, name)


def test_the_answer_lists_what_the_route_takes(client):
    response = client.get("/v1/signage/progress", params={"page": "2", "verbose": "1"})
    assert response.status_code == 400
    detail = response.json()["detail"]
    assert detail.startswith("unknown query parameters 'page', 'verbose'")
    assert detail.endswith("this route takes: admin_code, as_of, f, parking_only")
    chinese = client.get(
        "/v1/signage/progress", params={"verbose": "1"}, headers={"Accept-Language": "zh"}
    ).json()
    assert chinese["detail"] == (
        "未知的查询参数 'verbose'；此接口接受的查询参数：admin_code, as_of, f, parking_only"
    )
    assert chinese["errors"][0]["message"] == "未知参数"


@pytest.mark.parametrize(
    ("path", "params"),
    [
        # silently ignored before: a position system on detail, a time on lists
        ("/v1/facilities/28", {"coordsys": "gcj02", "as_at": "2024-01-01"}),
        ("/v1/facilities", {"as_of": "2024-01-01T00:00:00Z"}),
    ],
)
def test_former_silent_cases(public_client, path, params):
    response = public_client.get(path, params=params)
    assert response.status_code == 400, response.text


def test_routes_outside_v1_keep_their_own_rules(public_client):
    assert public_client.get("/healthz", params={"verbose": "1"}).status_code == 200
