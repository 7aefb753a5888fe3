"""Every route with a role check (accounts.dependencies.require_roles, async) refuses an
anonymous caller with 401 and a key of a role it does not take with 403, before anything
else is read: found from the routes themselves, so a route added later is swept too."""

import re

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from app.accounts.models import Role
from app.main import create_app

# The role each route is tried with when it refuses it: one whose key takes no scope.
TRIED = (Role.app, Role.gis, Role.alert_authority)


def role_checks(dependant) -> frozenset[Role] | None:
    for sub in dependant.dependencies:
        call = sub.call
        if getattr(call, "__qualname__", "") == "require_roles.<locals>.dependency":
            return frozenset(call.__closure__[0].cell_contents)
        found = role_checks(sub)
        if found is not None:
            return found
    return None


def api_routes(routes) -> list[APIRoute]:
    # routers are included as themselves (each with its own prefix, none given at include)
    found = []
    for route in routes:
        if isinstance(route, APIRoute):
            found.append(route)
        elif hasattr(route, "original_router"):
            found.extend(api_routes(route.original_router.routes))
    return found


def checked_routes(settings) -> list[tuple[str, str, frozenset[Role]]]:
    routes = []
    for route in api_routes(create_app(settings).routes):
        allowed = role_checks(route.dependant)
        if allowed is not None:
            path = re.sub(r"\{[^}]+\}", "1", route.path)
            routes.extend((method, path, allowed) for method in sorted(route.methods))
    return routes


def test_the_sweep_finds_the_role_checked_routes(settings):
    found = {(method, path) for method, path, _ in checked_routes(settings)}
    assert ("POST", "/v1/alerts") in found and ("GET", "/v1/admin/keys") in found
    assert len(found) > 20


def test_every_role_checked_route_refuses_the_anonymous_and_other_roles(settings, app, make_key):
    keys = {role: make_key(role.value) for role in TRIED}
    refused = []
    for i, (method, path, allowed) in enumerate(checked_routes(settings)):
        # anonymous writes have a small budget per address: one address per route
        anonymous = TestClient(app, client=(f"192.0.2.{i + 1}", 50000)).request(method, path)
        if anonymous.status_code != 401:
            refused.append((method, path, None, anonymous.status_code))
        role = next((r for r in TRIED if r not in allowed), None)
        if role is None:
            continue
        keyed = TestClient(app, headers={"Authorization": f"Bearer {keys[role]}"})
        answer = keyed.request(method, path)
        if answer.status_code != 403:
            refused.append((method, path, role, answer.status_code))
    assert refused == [], "\n".join(map(str, refused))


@pytest.mark.parametrize("role", [None, Role.app, Role.alert_authority])
def test_a_population_layer_in_stats_needs_a_reader_of_layers(app, make_key, role):
    headers = {} if role is None else {"Authorization": f"Bearer {make_key(role.value)}"}
    answer = TestClient(app, headers=headers).get("/v1/stats", params={"population_layer": 1})
    assert answer.status_code == (401 if role is None else 403), answer.text
