"""Query parameters read as one pydantic model, for the hot search routes: pydantic checks
the whole model in one call, where FastAPI's reading of each declared parameter cost a
nearby search more Python than writing its answer (docs/performance.md). Errors are the
same RequestValidationError, and the parameters appear in OpenAPI as FastAPI writes them."""

from typing import Any, TypeVar

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)


def read_query(request: Request, model: type[M]) -> M:
    try:
        return model.model_validate(dict(request.query_params))
    except ValidationError as exc:
        raise RequestValidationError(
            [{**e, "loc": ("query", *e["loc"])} for e in exc.errors(include_url=False)]
        ) from exc


def query_parameters(model: type[BaseModel]) -> dict[str, Any]:
    """`openapi_extra` of a route that reads `model` with read_query: its fields as query
    parameters, enumerations written in place."""
    schema = model.model_json_schema()
    definitions = schema.get("$defs", {})

    def inline(node: Any) -> Any:
        if isinstance(node, list):
            return [inline(item) for item in node]
        if not isinstance(node, dict):
            return node
        if "$ref" in node:
            return inline(definitions[node["$ref"].rsplit("/", 1)[1]])
        return {key: inline(value) for key, value in node.items()}

    required = set(schema.get("required", []))
    parameters = []
    for name, field in schema["properties"].items():
        field = inline(field)
        description = field.pop("description", None)
        parameter = {"name": name, "in": "query", "required": name in required, "schema": field}
        if description:
            parameter["description"] = description
        parameters.append(parameter)
    return {"parameters": parameters}
