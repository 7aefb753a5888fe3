"""Format negotiation for feature resources, in one place."""

from enum import StrEnum

from fastapi import Request

GEOJSON = "application/geo+json"
JSON = "application/json"


class OutputFormat(StrEnum):
    json = "json"
    geojson = "geojson"


def wants_geojson(request: Request, f: OutputFormat | None) -> bool:
    """`f` wins over the Accept header; without either, the answer is plain JSON."""
    if f is not None:
        return f == OutputFormat.geojson
    return GEOJSON in request.headers.get("accept", "")
