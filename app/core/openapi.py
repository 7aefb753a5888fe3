"""The OpenAPI document: one naming rule for operation ids, and the schemas of response
bodies that FastAPI does not describe itself (a second media type of a response)."""

from collections.abc import Callable, Collection, Sequence
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

REF = "#/components/schemas/{model}"
PROBLEM_JSON = "application/problem+json"
JSON = "application/json"
FASTAPI_422 = {"schema": {"$ref": REF.format(model="HTTPValidationError")}}
FASTAPI_ONLY = ("HTTPValidationError", "ValidationError")
# A PUT of a keyed record an admin declares: 201 when it was new, 200 when it replaced one.
DECLARED = {201: {"description": "declared"}}


def operation_id(route: APIRoute) -> str:
    """The handler's name in camelCase (`nearby_parking` -> `nearbyParking`): short, so
    that generated clients read well, and stable, as it changes only with the handler's
    name. FastAPI's default appends the path and the method."""
    first, *rest = route.name.split("_")
    return first + "".join(word.capitalize() for word in rest)


def alternative(media_type: str, model: type[BaseModel] | str) -> dict[str, Any]:
    """A response's body in another media type than the route's model, described by
    `model` (or the model's name); `install` must be given the model so that the
    reference resolves."""
    name = model if isinstance(model, str) else model.__name__
    return {"content": {media_type: {"schema": {"$ref": REF.format(model=name)}}}}


def problem(status: int) -> dict[str, Any]:
    """A problem answer (RFC 9457) as documented: its body under the type it is served as.
    `install` must be given core.errors.Problem among its models."""
    return {"description": HTTPStatus(status).phrase, **alternative(PROBLEM_JSON, "Problem")}


def install(app: FastAPI, *, models: Sequence[type[BaseModel]], unlimited: Collection[str]) -> None:
    """Serves the app's document with the schemas of `models` (and the models they
    refer to) among its components, and the problems the gate may answer on every route
    but the `unlimited` ones."""
    build: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        document = build()  # kept by FastAPI as app.openapi_schema
        _, found = models_json_schema([(m, "serialization") for m in models], ref_template=REF)
        schemas = document.setdefault("components", {}).setdefault("schemas", {})
        for name, schema in found.get("$defs", {}).items():
            schemas.setdefault(name, schema)
        for path, item in document.get("paths", {}).items():
            for operation in item.values():
                responses = operation.setdefault("responses", {})
                # Every /v1 route refuses an unknown query parameter (core.schemas).
                statuses = [400] if path.startswith("/v1/") else []
                # The gate answers a key it does not know with 401, and an empty bucket
                # with 429, on every route but the probes (accounts.gate); it reads keys
                # from the database, which a failover takes away for seconds (503, with
                # Retry-After: core.errors). Declared here only: the same entries stand for
                # a route's own 401 (a role's route called without a key), 429 (one event
                # stream too many) and 503 (a process's streams all taken).
                statuses += [] if path in unlimited else [401, 429, 503]
                for status in statuses:
                    responses.setdefault(str(status), problem(status))
                # FastAPI's own 422 of a route that declares none: core.errors answers
                # it as a problem, as every other.
                if responses.get("422", {}).get("content", {}).get(JSON, {}) == FASTAPI_422:
                    responses["422"] = problem(422)
        for name in FASTAPI_ONLY:
            schemas.pop(name, None)
        return document

    app.openapi = openapi  # type: ignore[method-assign]
