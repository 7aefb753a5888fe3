"""Format negotiation for feature resources, in one place."""

from collections.abc import Iterable, Iterator
from enum import StrEnum
from typing import Annotated, Any

from fastapi import Query, Request, Response

GEOJSON = "application/geo+json"
JSON = "application/json"
CSV = "text/csv"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

# Spreadsheets (Excel, WPS, LibreOffice) read a CSV cell that starts with one of these as
# a formula, so a name from the registry or a value from an uploaded file would run in
# the reader's spreadsheet (CSV injection). Such text is written after an apostrophe,
# the spreadsheets' own mark of text; the importer takes it off again.
FORMULA_FIRST = frozenset("=+-@\t\r")


def spreadsheet_text(value: Any) -> Any:
    """A CSV cell that no spreadsheet runs: text starting as a formula gets an apostrophe
    before it; numbers (-5) and everything else are left as they are."""
    if isinstance(value, str) and value[:1] in FORMULA_FIRST and not _is_number(value):
        return "'" + value
    return value


def spreadsheet_row(row: Iterable[Any]) -> list[Any]:
    return [spreadsheet_text(value) for value in row]


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


class OutputFormat(StrEnum):
    json = "json"
    geojson = "geojson"


def weighted(header: str) -> Iterator[tuple[str, float]]:
    """The items of an Accept-* header (Accept-Encoding, Accept-Language) with their q
    values (RFC 9110 §12.4.2), a bad q as 0, at most 20 items of the first 1,000 bytes."""
    for part in header[:1000].split(",")[:20]:
        token, _, params = part.strip().partition(";")
        q = 1.0
        params = params.strip()
        if params.startswith("q="):
            try:
                q = float(params[2:])
            except ValueError:
                q = 0.0
        yield token.strip(), max(0.0, min(q, 1.0))


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
