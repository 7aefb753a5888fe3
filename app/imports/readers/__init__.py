"""Reading import files into batches of text cells, whatever the format: delimited text,
spreadsheets, GeoJSON a feature per line, and the GIS formats GDAL reads.

Every value is handed on as text (or None): parsing and checking happen later, in one
place, so a number in a spreadsheet and the same number in a CSV meet the same rules."""

from pathlib import Path

from app.imports.readers.common import (
    SUFFIXES,
    Batch,
    FileFormat,
    FileProblem,
    Source,
    check_encoding,
)
from app.imports.readers.delimited import read_csv
from app.imports.readers.feature_lines import Reread, read_feature_lines
from app.imports.readers.gdal import read_gis
from app.imports.readers.spreadsheet import read_xlsx

__all__ = [
    "Batch",
    "FileFormat",
    "FileProblem",
    "Reread",
    "Source",
    "check_encoding",
    "detect_format",
    "open_source",
]


def detect_format(path: Path, given: FileFormat | None) -> FileFormat:
    if given:
        return given
    found = SUFFIXES.get(path.suffix.lower())
    if found is None:
        raise FileProblem(
            f"{path.name}: unknown file type {path.suffix!r}; pass --format "
            f"({', '.join(f.value for f in FileFormat)})"
        )
    return found


def open_source(
    path: Path,
    *,
    file_format: FileFormat | None = None,
    encoding: str | None = None,
    mapping: dict[str, str],
    layer: str | None = None,
    header_row: int | None = None,
    line_reader: bool = True,
) -> Source:
    """The file's batches. GeoJSON laid out a feature per line is read by orjson unless
    `line_reader` is false (see Reread)."""
    kind = detect_format(path, file_format)
    if encoding is not None:
        encoding = check_encoding(encoding)
    if header_row is not None and kind != FileFormat.xlsx:
        raise FileProblem(f"{path.name}: a header row is chosen only in XLSX workbooks")
    if kind == FileFormat.csv:
        return read_csv(path, encoding, mapping)
    if kind == FileFormat.xlsx:
        return read_xlsx(path, mapping, layer, header_row)
    if (
        line_reader
        and kind in (FileFormat.geojson, FileFormat.ndjson)
        and encoding in (None, "utf-8")
        and (source := read_feature_lines(path, kind, mapping))
    ):
        return source
    return read_gis(path, kind, encoding, mapping, layer)
