"""What every reader hands on: batches of text cells, with the file's problems."""

import codecs
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from app.core.errors import BadRequest
from app.imports import fields

BATCH_ROWS = 20_000


CSV_BLOCK_BYTES = 8 << 20  # what Arrow's CSV reader parses at a time


# Geographic CRSs within a metre of WGS 84; anything else would need a reprojection.
WGS84_LIKE = {"EPSG:4326", "EPSG:4490", "OGC:CRS84"}


class FileFormat(StrEnum):
    csv = "csv"
    xlsx = "xlsx"
    geojson = "geojson"
    ndjson = "ndjson"
    gpkg = "gpkg"
    shp = "shp"
    fgb = "fgb"


SUFFIXES = {
    ".csv": FileFormat.csv,
    ".txt": FileFormat.csv,
    ".xlsx": FileFormat.xlsx,
    ".geojson": FileFormat.geojson,
    ".json": FileFormat.geojson,
    ".ndjson": FileFormat.ndjson,
    ".geojsonl": FileFormat.ndjson,
    ".geojsons": FileFormat.ndjson,
    ".jsonl": FileFormat.ndjson,
    ".gpkg": FileFormat.gpkg,
    ".shp": FileFormat.shp,
    ".zip": FileFormat.shp,
    ".fgb": FileFormat.fgb,
}


class FileProblem(BadRequest):
    """The file as a whole cannot be read: nothing in it is imported."""

    def __init__(self, detail: str, *, row: int | None = None) -> None:
        super().__init__(detail)
        self.row = row


# Python's codecs that turn bytes into host names, not into a file's text.
NOT_FOR_FILES = {"idna", "punycode"}


def check_encoding(encoding: str) -> str:
    """The codec's own name, for an encoding a file's text may be in. Python's codecs
    also name transforms (hex, base64, rot13, zlib, bz2), which no text is decoded with:
    refused by name like an unknown one, before they reach a reader."""
    try:
        info = codecs.lookup(encoding)
    except LookupError as exc:
        raise FileProblem(f"unknown encoding {encoding!r}") from exc
    if not info._is_text_encoding or info.name in NOT_FOR_FILES:
        raise FileProblem(f"{encoding!r} is not a text encoding (e.g. utf-8, gbk, gb18030)")
    return info.name


@dataclass
class Batch:
    rows: list[int]  # row numbers as the user sees them: spreadsheet rows, feature numbers
    cells: dict[str, Any]  # field -> one text cell per row: a list, or an Arrow string array
    geometry: Any = None  # WKB bytes (or None) per row, from GIS formats: a numpy array
    # (row, problem) for rows that could not be split into cells at all
    broken: list[tuple[int, str]] = field(default_factory=list)


@dataclass
class Source:
    format: FileFormat
    headers: list[str]
    mapped: dict[str, str]  # header -> field
    ignored: list[str]  # headers that map to no field
    total: int | None  # rows, when cheap to know
    batches: Iterator[Batch]
    encoding: str | None = None
    has_geometry: bool = False


def map_headers(headers: list[str], mapping: dict[str, str]) -> tuple[dict[str, str], list[str]]:
    mapped: dict[str, str] = {}
    ignored: list[str] = []
    taken: dict[str, str] = {}
    for header in headers:
        target = mapping.get(fields.normalise_header(header))
        if target in fields.DERIVED or not target:
            ignored.append(header)
            continue
        if target in taken:
            raise FileProblem(
                f"columns {taken[target]!r} and {header!r} both map to the field {target!r}; "
                "drop one or map it elsewhere with --mapping",
                row=1,
            )
        taken[target] = header
        mapped[header] = target
    return mapped, ignored


def empty_batch(positions: list[tuple[int, str]]) -> Batch:
    return Batch(rows=[], cells={name: [] for _, name in positions})


def first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
