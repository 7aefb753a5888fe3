"""Format negotiation for feature resources, in one place."""

from enum import StrEnum
from typing import Annotated, Any

from fastapi import Query, Request, Response

GEOJSON = "application/geo+json"
JSON = "application/json"
CSV = "text/csv"


class OutputFormat(StrEnum):
    json = "json"
    geojson = "geojson"


def wants_geojson(request: Request, f: OutputFormat | None) -> bool:
    """`f` wins over the Accept header; without either, the answer is plain JSON."""
    if f is not None:
        return f == OutputFormat.geojson
    return GEOJSON in request.headers.get("accept", "")


class TableFormat(StrEnum):
    json = "json"
    csv = "csv"


TableFormatQuery = Annotated[
    TableFormat | None, Query(description="csv for CSV; Accept: text/csv does the same")
]
CSV_ALTERNATIVE: dict[int | str, dict[str, Any]] = {
    200: {"content": {CSV: {"schema": {"type": "string"}}}}
}


def wants_csv(request: Request, f: TableFormat | None) -> bool:
    """`f` wins over the Accept header; without either, the answer is JSON."""
    if f is not None:
        return f == TableFormat.csv
    return CSV in request.headers.get("accept", "")


def table(body: str, *, as_csv: bool, name: str) -> Response:
    """A table as CSV (`name`.csv) or its JSON document; answers vary with the caller."""
    headers = {"Vary": "Accept, Authorization"}
    if as_csv:
        headers["Content-Disposition"] = f'inline; filename="{name}.csv"'
        return Response(body, media_type=f"{CSV}; charset=utf-8", headers=headers)
    return Response(body, media_type=JSON, headers=headers)
