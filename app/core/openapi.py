"""The OpenAPI document: one naming rule for operation ids, and the schemas of response
bodies that FastAPI does not describe itself (a second media type of a response)."""

from collections.abc import Callable, Sequence
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

REF = "#/components/schemas/{model}"
# A PUT of a keyed record an admin declares: 201 when it was new, 200 when it replaced one.
DECLARED = {201: {"description": "declared"}}


def operation_id(route: APIRoute) -> str:
    """The handler's name in camelCase (`nearby_parking` -> `nearbyParking`): short, so
    that generated clients read well, and stable, as it changes only with the handler's
    name. FastAPI's default appends the path and the method."""
    first, *rest = route.name.split("_")
    return first + "".join(word.capitalize() for word in rest)


def alternative(media_type: str, model: type[BaseModel]) -> dict[str, Any]:
    """A response's body in another media type than the route's model, described by
    `model`; `install` must be given the model so that the reference resolves."""
    return {"content": {media_type: {"schema": {"$ref": REF.format(model=model.__name__)}}}}


def install(app: FastAPI, *, models: Sequence[type[BaseModel]]) -> None:
    """Serves the app's document with the schemas of `models` (and the models they
    refer to) among its components."""
    build: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        document = build()  # kept by FastAPI as app.openapi_schema
        _, found = models_json_schema([(m, "serialization") for m in models], ref_template=REF)
        schemas = document.setdefault("components", {}).setdefault("schemas", {})
        for name, schema in found.get("$defs", {}).items():
            schemas.setdefault(name, schema)
        # Every /v1 route refuses an unknown query parameter with a 400 (core.schemas).
        refused = {
            "description": "Bad Request",
            "content": {
                "application/problem+json": {"schema": {"$ref": REF.format(model="Problem")}}
            },
        }
        for path, item in document.get("paths", {}).items():
            if path.startswith("/v1/"):
                for operation in item.values():
                    operation.setdefault("responses", {}).setdefault("400", refused)
        return document

    app.openapi = openapi  # type: ignore[method-assign]
