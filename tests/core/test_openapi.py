"""The OpenAPI documents: valid for the reference validator, short operation ids by one
rule, and a Python client generated from them without a warning that works."""

import importlib
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.routing import APIRoute, iter_route_contexts
from openapi_spec_validator import validate

from app.config import PROJECT_ROOT
from app.core.openapi import operation_id

CLIENT_CONFIG = PROJECT_ROOT / "docs" / "openapi-python-client.yaml"


@pytest.mark.parametrize("path", ["/openapi.json", "/ogc/api"])
def test_the_documents_pass_the_validator(public_client, path):
    response = public_client.get(path)
    assert response.status_code == 200
    validate(response.json())


def test_the_geojson_alternatives_are_defined(public_client):
    document = public_client.get("/openapi.json").json()
    schemas = document["components"]["schemas"]
    listed = document["paths"]["/v1/facilities"]["get"]["responses"]["200"]["content"]
    ref = listed["application/geo+json"]["schema"]["$ref"]
    assert ref == "#/components/schemas/FacilityFeatureCollection"
    assert "FacilityFeature" in json.dumps(schemas["FacilityFeatureCollection"])
    assert set(schemas["FacilityFeature"]["properties"]) >= {"id", "geometry", "properties"}


def test_operation_ids_are_the_handler_names_in_camel_case(app, public_client):
    document = public_client.get("/openapi.json").json()
    found = {
        (path, method): operation["operationId"]
        for path, item in document["paths"].items()
        for method, operation in item.items()
    }
    assert len(set(found.values())) == len(found), "operation ids must be unique"
    for (path, _), name in found.items():
        assert re.fullmatch(r"[a-z][a-zA-Z0-9]{1,39}", name), name
        # The handler of that name serves that path.
        handler = re.sub("([A-Z])", r"_\1", name).lower()
        params = {p: "1" for p in re.findall(r"{(\w+)}", path)}
        assert app.url_path_for(handler, **params) == path.format(**params), name
    assert found["/v1/parking/nearby", "get"] == "nearbyParking"
    assert found["/v1/facilities/{facility_id}", "patch"] == "updateFacility"


def test_the_rule_names_a_route_by_its_handler():
    route = APIRoute("/v1/x", endpoint=lambda: None, name="list_population_layers")
    assert operation_id(route) == "listPopulationLayers"


def test_the_ogc_document_keeps_the_operation_ids(public_client):
    full = public_client.get("/openapi.json").json()["paths"]
    document = public_client.get("/ogc/api").json()
    # Its paths are relative to its server, /ogc.
    base = document["servers"][0]["url"]
    ogc = {base + path: item for path, item in document["paths"].items()}
    ids = [operation["operationId"] for item in ogc.values() for operation in item.values()]
    assert ids and len(set(ids)) == len(ids)
    shared = set(ogc) & set(full)
    assert "/ogc/collections" in shared
    for path in shared:
        assert ogc[path]["get"]["operationId"] == full[path]["get"]["operationId"]


def _generate(document: dict, out: Path) -> str:
    """openapi-python-client as a user runs it, with the project's configuration; its
    output (warnings included) is returned."""
    spec = out / "openapi.json"
    spec.write_text(json.dumps(document))
    venv_bin = str(Path(sys.executable).parent)  # the generator's ruff hook runs from PATH
    run = subprocess.run(
        [
            f"{venv_bin}/openapi-python-client",
            "generate",
            "--path",
            str(spec),
            "--config",
            str(CLIENT_CONFIG),
            "--meta",
            "none",
            "--output-path",
            str(out / "client"),
        ],
        capture_output=True,
        text=True,
        env={"PATH": venv_bin + ":/usr/bin:/bin"},
        timeout=600,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    return run.stdout + run.stderr


def test_a_generated_python_client_has_no_warnings_and_works(public_client, tmp_path):
    output = _generate(public_client.get("/openapi.json").json(), tmp_path)
    assert output.strip() == f"Generating {tmp_path / 'client'}", output
    sys.path.insert(0, str(tmp_path))
    try:
        generated = importlib.import_module("client")
        nearby = importlib.import_module("client.api.nearby.nearby_parking")
        healthz = importlib.import_module("client.api.health.healthz")
        api = generated.Client(base_url="http://testserver")
        api.set_httpx_client(public_client)
        assert healthz.sync(client=api).to_dict() == {"status": "ok"}
        answer = nearby.sync_detailed(client=api, lon=117.2281, lat=31.8262)
        assert answer.status_code == 200
        assert answer.parsed.items == []
        refused = nearby.sync_detailed(client=api, lon=2.35, lat=48.85)
        assert refused.status_code == 422
    finally:
        sys.path.remove(str(tmp_path))
        for name in [m for m in sys.modules if m == "client" or m.startswith("client.")]:
            del sys.modules[name]


def test_the_ogc_document_generates_a_client_without_warnings(public_client, tmp_path):
    output = _generate(public_client.get("/ogc/api").json(), tmp_path)
    assert output.strip() == f"Generating {tmp_path / 'client'}", output


PROBES = {"/healthz", "/readyz"}
GATE = {"401", "429", "503"}


def test_the_gates_refusals_are_declared_once_and_each_routes_own_problems_too(app, public_client):
    """A key the gate does not know is a 401, an empty bucket a 429, the database away a
    503, on every route but the probes: core.openapi declares them, as problems, and no route restates them; what a
    route answers itself (403, 404, 409, 412 ...) is in the document as it declared it."""
    paths = public_client.get("/openapi.json").json()["paths"]
    problem = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    # The routes as FastAPI builds the document from them, included routers' own unfolded.
    routes = {
        (route.path_format, method.lower()): route
        for route in iter_route_contexts(app.routes)
        if isinstance(route.original_route, APIRoute) and route.include_in_schema
        for method in route.methods
    }
    assert set(routes) == {(path, method) for path, item in paths.items() for method in item}
    for (path, method), route in routes.items():
        documented = paths[path][method]["responses"]
        own = {str(status) for status in route.responses}
        assert own <= set(documented), f"{method} {path}: {own - set(documented)}"
        if path in PROBES:  # the gate lets them by; /readyz answers its own 503
            assert not (GATE - own) & set(documented), path
        else:
            assert not own & GATE, f"{method} {path} restates the gate's refusals"
            for status in GATE:
                assert documented[status]["content"] == problem, (method, path, status)
    assert {"403", "404", "412", "428"} <= set(
        paths["/v1/facilities/{facility_id}"]["patch"]["responses"]
    )
    bad_key = {"Authorization": "Bearer nope"}
    assert public_client.get("/v1/divisions", headers=bad_key).status_code == 401
    assert public_client.get("/healthz", headers=bad_key).status_code == 200


@pytest.mark.parametrize("path", ["/openapi.json", "/ogc/api"])
def test_every_problem_is_documented_as_the_type_it_is_served_as(public_client, path):
    document = public_client.get(path).json()
    problem = {"schema": {"$ref": "#/components/schemas/Problem"}}
    answers = [
        (f"{method} {route} {status}", answer.get("content"))
        for route, item in document["paths"].items()
        for method, operation in item.items()
        for status, answer in operation["responses"].items()
        if status[0] in "45"
    ]
    assert answers
    wrong = [name for name, content in answers if content != {"application/problem+json": problem}]
    assert wrong == []
    assert "HTTPValidationError" not in json.dumps(document)
    # and a 422 that FastAPI would have described as its own is served as a problem
    answer = public_client.get("/ogc/collections/facilities/items", params={"limit": "many"})
    assert answer.status_code in (400, 422)
    assert answer.headers["content-type"] == "application/problem+json"
