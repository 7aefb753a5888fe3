"""Reading import files into batches of text cells, whatever the format.

Every value is handed on as text (or None): parsing and checking happen later, in one
place, so a number in a spreadsheet and the same number in a CSV meet the same rules."""

import codecs
import csv
import itertools
import math
import re
import zipfile
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from datetime import date, datetime, time
from enum import StrEnum
from pathlib import Path
from typing import Any

import orjson

from app.core.errors import BadRequest
from app.transfer import fields

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
    line_reader: bool = True,
) -> Source:
    """The file's batches. GeoJSON laid out a feature per line is read by orjson unless
    `line_reader` is false (see Reread)."""
    kind = detect_format(path, file_format)
    if kind == FileFormat.csv:
        return _csv(path, encoding, mapping)
    if kind == FileFormat.xlsx:
        return _xlsx(path, mapping, layer)
    if (
        line_reader
        and kind in (FileFormat.geojson, FileFormat.ndjson)
        and (encoding is None or codecs.lookup(encoding).name == "utf-8")
        and (source := _feature_lines(path, kind, mapping))
    ):
        return source
    return _gis(path, kind, encoding, mapping, layer)


def _map_headers(headers: list[str], mapping: dict[str, str]) -> tuple[dict[str, str], list[str]]:
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


# --- CSV ------------------------------------------------------------------------------


def detect_encoding(head: bytes, path: Path) -> str:
    """UTF-8 (with or without BOM) when the bytes decode as such, else GB18030, which
    reads GBK and GB2312 too. A file in neither is named as such, not garbled."""
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    try:
        head.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as exc:
        # A multi-byte character cut by the end of the sample is not a fault.
        if exc.start >= len(head) - 3 and exc.reason == "unexpected end of data":
            return "utf-8"
    try:
        head.decode("gb18030")
        return "gb18030"
    except UnicodeDecodeError as exc:
        if exc.start >= len(head) - 3:
            return "gb18030"
        raise FileProblem(
            f"{path.name}: neither UTF-8 nor GBK/GB18030 text (byte {exc.start}); "
            "pass --encoding with the right one"
        ) from exc


def _csv(path: Path, encoding: str | None, mapping: dict[str, str]) -> Source:
    with path.open("rb") as raw:
        head = raw.read(1 << 20)
    if not head.strip():
        raise FileProblem(f"{path.name}: the file is empty")
    encoding = encoding or detect_encoding(head, path)
    try:
        codecs.lookup(encoding)
    except LookupError as exc:
        raise FileProblem(f"unknown encoding {encoding!r}") from exc
    sample = head.decode(encoding, errors="ignore")
    first_line = sample.split("\n", 1)[0]
    delimiter = max([",", "\t", ";", "|"], key=first_line.count)
    # Counting newlines is cheap and makes the ETA honest; quoted newlines only make it high.
    lines, ends_quoted = _scan(path)
    total = max(lines - 1, 0)

    handle = path.open(encoding=encoding, newline="", errors="strict")
    reader = csv.reader(handle, delimiter=delimiter, strict=True)
    try:
        headers = next(reader)
    except (UnicodeDecodeError, csv.Error) as exc:
        handle.close()
        raise _csv_problem(path, exc, 1, encoding) from exc
    mapped, ignored = _map_headers(headers, mapping)
    positions = [(i, mapped[h]) for i, h in enumerate(headers) if h in mapped]
    # Arrow reads the file when it can be trusted to read it as Python's csv module
    # would; a file that ends inside a quoted cell is truncated, which only the csv
    # module names (the count of quote bytes tells only where a quote is one byte no
    # other character has, as in UTF-8 and GBK, not UTF-16), and duplicate headers
    # cannot be given types by name. (Arrow, like Excel, reads text after a closing
    # quote as part of the cell, where the strict csv module refuses the row.)
    arrow = (
        b'"'.decode(encoding, errors="ignore") == '"'
        and not ends_quoted
        and len(set(headers)) == len(headers)
    )

    def batches() -> Iterator[Batch]:
        with handle:
            taken = 1  # the last row handed over by Arrow
            if arrow:
                from pyarrow import ArrowInvalid

                try:
                    for batch, last in _arrow_csv(path, encoding, delimiter, headers, positions):
                        taken = last
                        yield batch
                except (ArrowInvalid, UnicodeDecodeError):
                    # A row of the wrong width, or text not in the encoding: the csv
                    # module goes on from the first row not yet handed over, and names it.
                    pass
                else:
                    return
            batch = _empty(positions)
            row = 1
            while True:
                row += 1
                try:
                    cells = next(reader)
                except StopIteration:
                    break
                except UnicodeDecodeError as exc:
                    raise _csv_problem(path, exc, row, encoding) from exc
                except csv.Error as exc:
                    raise _csv_problem(path, exc, row, encoding) from exc
                if row <= taken:
                    continue
                if not any(cells):
                    continue  # blank lines between records are common in hand-made files
                if len(cells) != len(headers):
                    batch.broken.append(
                        (row, f"has {len(cells)} fields where the header has {len(headers)}")
                    )
                    continue
                batch.rows.append(row)
                for index, name in positions:
                    batch.cells[name].append(cells[index])
                if len(batch.rows) >= BATCH_ROWS:
                    yield batch
                    batch = _empty(positions)
            if batch.rows or batch.broken:
                yield batch

    return Source(
        FileFormat.csv,
        headers,
        mapped,
        ignored,
        total,
        batches(),
        encoding=encoding,
        has_geometry=False,
    )


def _arrow_csv(
    path: Path,
    encoding: str,
    delimiter: str,
    headers: list[str],
    positions: list[tuple[int, str]],
) -> Iterator[tuple[Batch, int]]:
    """The rows as Python's csv module reads them, each batch with the number of its
    last row, parsed by Arrow's C++ reader on its own threads: a million rows in seconds
    where the csv module took half a minute of the reading thread. Raises ArrowInvalid
    (or UnicodeDecodeError) at the first batch it cannot read as such; the batches
    before it are right."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    utf8 = codecs.lookup(encoding).name in ("utf-8", "utf-8-sig")  # Arrow drops a BOM
    reader = pacsv.open_csv(
        path,
        read_options=pacsv.ReadOptions(
            encoding="utf8" if utf8 else encoding, block_size=CSV_BLOCK_BYTES, use_threads=True
        ),
        # A blank line is read as a row of empty cells and skipped below, as the csv
        # module does, so that the row numbers stay the file's.
        parse_options=pacsv.ParseOptions(
            delimiter=delimiter, newlines_in_values=True, ignore_empty_lines=False
        ),
        convert_options=pacsv.ConvertOptions(
            column_types={header: pa.string() for header in headers}, strings_can_be_null=False
        ),
    )
    with reader:
        if reader.schema.names != headers:
            raise pa.ArrowInvalid("Arrow read other headers than the csv module")
        row, size = 1, 0  # the header's row; the rows pending
        pending: list[Any] = []
        for part in reader:
            pending.append(part)
            size += part.num_rows
            if size >= BATCH_ROWS:
                yield _arrow_batch(pa.Table.from_batches(pending), row, positions)
                row, size, pending = row + size, 0, []
        if pending:
            yield _arrow_batch(pa.Table.from_batches(pending), row, positions)


def _arrow_batch(table: Any, row: int, positions: list[tuple[int, str]]) -> tuple[Batch, int]:
    """The rows numbered from `row` + 1 on, without those whose cells are all empty."""
    import numpy as np
    import pyarrow.compute as pc

    table = table.combine_chunks()
    numbers = np.arange(row + 1, row + 1 + table.num_rows)
    blank = np.ones(table.num_rows, dtype=bool)
    for column in table.columns:
        blank &= pc.equal(pc.binary_length(column), 0).to_numpy(zero_copy_only=False)
    if blank.any():
        table, numbers = table.filter(pc.invert(blank)), numbers[~blank]
    cells = {name: table.column(index).combine_chunks() for index, name in positions}
    return Batch(rows=numbers.tolist(), cells=cells), row + len(blank)


def _csv_problem(path: Path, exc: Exception, row: int, encoding: str) -> FileProblem:
    if isinstance(exc, UnicodeDecodeError):
        return FileProblem(
            f"{path.name}: row {row} is not valid {encoding} text; the file is in another "
            "encoding (pass --encoding, e.g. gbk or utf-8)",
            row=row,
        )
    return FileProblem(f"{path.name}: malformed or truncated CSV at row {row}: {exc}", row=row)


def _scan(path: Path) -> tuple[int, bool]:
    """The file's lines, and whether it ends inside a quoted cell (an odd number of
    quote characters, each escaped quote being two)."""
    lines = quotes = 0
    last = b"\n"
    with path.open("rb") as raw:
        while chunk := raw.read(1 << 24):
            lines += chunk.count(b"\n")
            quotes += chunk.count(b'"')
            last = chunk[-1:]
    return lines + (last != b"\n"), quotes % 2 == 1


def _empty(positions: list[tuple[int, str]]) -> Batch:
    return Batch(rows=[], cells={name: [] for _, name in positions})


# --- XLSX -----------------------------------------------------------------------------


def _cell_text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value):
            return None
        # Excel keeps every number as a float: 8000.0 persons is 8000.
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return str(value)


def _xlsx(path: Path, mapping: dict[str, str], sheet: str | None) -> Source:
    import openpyxl  # a second or two to import; only spreadsheets need it

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise FileProblem(f"{path.name}: not a readable XLSX workbook ({exc})") from exc
    if sheet is not None and sheet not in book.sheetnames:
        raise FileProblem(f"{path.name}: no sheet {sheet!r}; sheets: {', '.join(book.sheetnames)}")
    worksheet = book[sheet] if sheet else book.worksheets[0]
    rows = worksheet.iter_rows(values_only=True)
    header_row = 0
    headers: list[str] = []
    try:
        for values in rows:
            header_row += 1
            if any(v is not None and str(v).strip() for v in values):
                headers = [_cell_text(v) or "" for v in values]
                break
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise FileProblem(f"{path.name}: malformed or truncated workbook ({exc})") from exc
    if not headers:
        raise FileProblem(f"{path.name}: the sheet {worksheet.title!r} is empty")
    while headers and not headers[-1]:
        headers.pop()
    mapped, ignored = _map_headers([h for h in headers if h], mapping)
    positions = [(i, mapped[h]) for i, h in enumerate(headers) if h in mapped]
    total = max((worksheet.max_row or header_row) - header_row, 0)

    def batches() -> Iterator[Batch]:
        batch = _empty(positions)
        row = header_row
        try:
            for values in rows:
                row += 1
                if not any(v is not None and str(v).strip() for v in values):
                    continue
                batch.rows.append(row)
                for index, name in positions:
                    batch.cells[name].append(
                        _cell_text(values[index]) if index < len(values) else None
                    )
                if len(batch.rows) >= BATCH_ROWS:
                    yield batch
                    batch = _empty(positions)
        except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
            raise FileProblem(
                f"{path.name}: malformed or truncated workbook near row {row} ({exc})", row=row
            ) from exc
        finally:
            book.close()
        if batch.rows:
            yield batch

    return Source(FileFormat.xlsx, headers, mapped, ignored, total, batches())


# --- GIS formats through GDAL -----------------------------------------------------------


def _dbf_encoding(path: Path) -> str | None:
    """A Shapefile without a .cpg: Chinese offices save the .dbf in GBK as often as in
    UTF-8, and GDAL would assume Latin-1. The records decide."""
    if path.suffix.lower() != ".shp" or path.with_suffix(".cpg").exists():
        return None
    dbf = next(
        (p for p in (path.with_suffix(".dbf"), path.with_suffix(".DBF")) if p.exists()), None
    )
    if dbf is None:
        return None
    data = dbf.read_bytes()
    return "UTF-8" if _is_utf8(data) else "GB18030"


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False


def _gis(
    path: Path, kind: FileFormat, encoding: str | None, mapping: dict[str, str], layer: str | None
) -> Source:
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyogrio
    import pyogrio.raw

    target = str(path)
    if kind == FileFormat.shp and path.suffix.lower() == ".zip":
        target = f"/vsizip/{path}"
    encoding = encoding or _dbf_encoding(path)
    # Opened once: GDAL reads a whole GeoJSON file to learn its fields before the first
    # feature, so a separate look at the layer (read_info) would cost one more full pass.
    stream = ExitStack()
    try:
        meta, reader = stream.enter_context(
            pyogrio.raw.open_arrow(
                target,
                layer=layer,
                encoding=encoding,
                batch_size=BATCH_ROWS,
                datetime_as_string=True,
                use_pyarrow=True,
            )
        )
    except UnicodeDecodeError as exc:  # the field names
        raise FileProblem(f"{path.name}: field names are not UTF-8 text; {_SAVE_AS_UTF8}") from exc
    except Exception as exc:  # pyogrio raises a family of GDAL errors
        raise FileProblem(
            f"{path.name}: cannot be read as {kind.value} ({_first_line(exc)})"
        ) from exc
    headers = [str(h) for h in meta["fields"]]
    try:
        crs = meta.get("crs")
        if crs and crs.upper() not in WGS84_LIKE:
            raise FileProblem(f"{path.name}: coordinates in {crs}; reproject to EPSG:4326 first")
        mapped, ignored = _map_headers(headers, mapping)
    except FileProblem:
        stream.close()
        raise
    geometry_name = meta.get("geometry_name") or "wkb_geometry"

    def batches() -> Iterator[Batch]:
        row = 0
        try:
            with stream:
                for table in reader:
                    count = table.num_rows
                    cells: dict[str, Any] = {}
                    for header, name in mapped.items():
                        column = table.column(header)
                        if not pa.types.is_string(column.type) and not pa.types.is_large_string(
                            column.type
                        ):
                            column = pc.cast(column, pa.string())
                        _check_utf8(column, path, header, row, count)
                        # Kept as Arrow: the cells go to COPY as Arrow-written CSV, so a
                        # million rows never become Python strings. Geometry-bearing and
                        # nested columns are read in Python, by whoever needs them.
                        cells[name] = (
                            column.combine_chunks()
                            if isinstance(column, pa.ChunkedArray)
                            else column
                        )
                    geometry = (
                        table.column(geometry_name).to_numpy(zero_copy_only=False)
                        if geometry_name in table.column_names
                        else None
                    )
                    yield Batch(
                        rows=list(range(row + 1, row + count + 1)),
                        cells=cells,
                        geometry=geometry,
                    )
                    row += count
        except FileProblem:
            raise
        except Exception as exc:
            raise FileProblem(
                f"{path.name}: malformed or truncated {kind.value} after feature {row} "
                f"({_first_line(exc)})",
                row=row + 1,
            ) from exc

    return Source(
        kind,
        headers,
        mapped,
        ignored,
        _feature_count(target, path, kind, layer),
        batches(),
        encoding=encoding,
        has_geometry=meta.get("geometry_type") is not None,
    )


def _check_utf8(column: Any, path: Path, header: str, row: int, count: int) -> None:
    """GDAL hands text on as the file has it, also as the text of its JSON-typed columns: a
    GeoJSON file saved in GBK, or a Shapefile read with the wrong encoding, gives bytes
    that are not UTF-8, which nothing after this could take."""
    import pyarrow as pa

    try:
        column.validate(full=True)
    except pa.ArrowInvalid as exc:
        raise FileProblem(
            f"{path.name}: {header} in features {row + 1} to {row + count} is not UTF-8 "
            f"text; {_SAVE_AS_UTF8}",
            row=row + 1,
        ) from exc


_SAVE_AS_UTF8 = "save the file as UTF-8 (a Shapefile: pass its --encoding)"


# --- GeoJSON a feature per line -------------------------------------------------------

# GDAL, QGIS and this registry's export write a collection a feature per line, after a
# line that ends `"features": [`; a GeoJSON sequence is a feature per line by definition.
_FEATURES_OPEN = re.compile(rb'"features"\s*:\s*\[\s*$')
_ENVELOPE_BYTES = 1 << 16  # what may stand around the features: type, name, crs, bbox
_BOM = codecs.BOM_UTF8
_NUMBERS = (int, float)  # not bool, whose type() is its own
_NOTHING: dict[str, Any] = {}
_OBJECT_OR_NULL = (dict, type(None))
_READ_BYTES = 1 << 20


class Reread(Exception):
    """The line reader met, past the file's first features, what GDAL is to read: the file
    is read again from the start with GDAL, which names any problem as it always has."""


@dataclass
class _Layout:
    skip: int  # lines before the first feature
    head: bytes  # the collection's members before its features; b"" for a sequence


def _feature_lines(path: Path, kind: FileFormat, mapping: dict[str, str]) -> Source | None:
    """A GeoJSON file laid out a feature per line, read by orjson: GDAL would first parse
    the whole file to learn its fields (45 s for a million features), then parse it again
    at a third of the pace. The property names are those of the first batch of features,
    and each feature is checked as it is read, in one pass. None when the start of the file
    is laid out otherwise; further on, anything off (a property not seen in the first
    batch, a line that is not a feature, no end) raises Reread."""
    layout = _layout(path, kind)
    if layout is None:
        return None
    headers: dict[str, None] = {}
    try:
        for feature in itertools.islice(_checked_features(path, kind, layout), BATCH_ROWS):
            headers.update(dict.fromkeys(feature.get("properties") or ()))
    except Reread:
        return None
    mapped, ignored = _map_headers(list(headers), mapping)

    def batches() -> Iterator[Batch]:
        features = _Features(0, mapped)
        for feature in _checked_features(path, kind, layout):
            if not (feature.get("properties") or _NOTHING).keys() <= headers.keys():
                raise Reread
            features.add(feature)
            if features.count == BATCH_ROWS:
                yield features.batch()
                features = _Features(features.row + features.count, mapped)
        if features.count:
            yield features.batch()

    return Source(
        kind,
        list(headers),
        mapped,
        ignored,
        _feature_line_count(path, layout),
        batches(),
        # As GDAL has it: a GeoJSON layer has geometry even where every feature's is null.
        has_geometry=True,
    )


def _layout(path: Path, kind: FileFormat) -> _Layout | None:
    """Where the features begin: after the line that opens a collection's features (in
    WGS 84), or at once in a sequence."""
    skip, head = 0, b""
    if kind == FileFormat.geojson:
        with _opened(path) as file:
            while not _FEATURES_OPEN.search(head):
                line = file.readline(_ENVELOPE_BYTES)
                skip += 1
                head += line
                if not line or len(head) >= _ENVELOPE_BYTES:
                    return None
        if not _plain_collection(head + b"]}"):
            return None
    return _Layout(skip, head)


def _feature_line_count(path: Path, layout: _Layout) -> int:
    """The lines that begin with `{` (after a record separator, in a sequence), for
    progress: exact for what GDAL, QGIS and the export write, and close for the rest.
    Counted bytewise, a second a million features."""
    count, last = 0, b"\n"
    with _opened(path) as file:
        file.read(len(layout.head))
        while chunk := file.read(_READ_BYTES):
            chunk = last + chunk
            count += chunk.count(b"\n{") + chunk.count(b"\n\x1e{")
            last = chunk[-1:]
    return count


@contextmanager
def _opened(path: Path) -> Iterator[Any]:
    """The file, past a UTF-8 byte order mark if it starts with one."""
    with path.open("rb", buffering=_READ_BYTES) as file:
        if file.peek(len(_BOM)).startswith(_BOM):
            file.read(len(_BOM))
        yield file


def _checked_features(path: Path, kind: FileFormat, layout: _Layout) -> Iterator[dict]:
    """The features, parsed: each non-blank line from the first feature on, without the
    whitespace, record separator (sequences) or comma (collections) around it. Reread where
    a line is not a feature, commas are missing or out of place, the collection has no end,
    or the members after its features name another CRS."""
    collection = kind == FileFormat.geojson
    comma: bool | None = None  # whether the feature line before ended in a comma
    with _opened(path) as file:
        lines = iter(file)
        for _ in range(layout.skip):
            next(lines)
        for line in lines:
            text = line.strip().lstrip(b"\x1e")
            if not text:
                continue
            ends_in_comma = text.endswith(b",")
            if collection and text.startswith(b"]"):
                tail = text + file.read(_ENVELOPE_BYTES)
                if comma or not _plain_collection(layout.head + tail):
                    raise Reread
                return
            if collection and comma is False or not collection and ends_in_comma:
                raise Reread
            comma = ends_in_comma
            try:
                feature = orjson.loads(text[:-1] if ends_in_comma else text)
            except orjson.JSONDecodeError:
                raise Reread from None
            if (
                type(feature) is not dict
                or feature.get("type") != "Feature"
                or type(feature.get("properties")) not in _OBJECT_OR_NULL
                or type(feature.get("geometry")) not in _OBJECT_OR_NULL
            ):
                raise Reread
            yield feature
    if collection:  # no end to the features: truncated
        raise Reread


def _plain_collection(envelope: bytes) -> bool:
    """The collection around its features is one in WGS 84 (else GDAL reprojects or
    refuses, and says why)."""
    try:
        collection = orjson.loads(envelope)
    except orjson.JSONDecodeError:
        return False
    if type(collection) is not dict or collection.get("features") != []:
        return False
    if collection.get("type") != "FeatureCollection":
        return False
    crs = collection.get("crs")
    name = ((crs or {}).get("properties") or {}).get("name") if type(crs) is dict else crs
    return crs is None or (type(name) is str and _crs_code(name) in WGS84_LIKE)


def _crs_code(name: str) -> str:
    """`urn:ogc:def:crs:EPSG::4490` -> `EPSG:4490`, `urn:ogc:def:crs:OGC:1.3:CRS84` ->
    `OGC:CRS84`."""
    parts = name.upper().split(":")
    return f"{parts[-3] if len(parts) > 2 else parts[0]}:{parts[-1]}"


class _Features:
    """Features taken apart as they are parsed, into the columns of one batch. Each parsed
    feature is let go at once: 20,000 of them kept whole are half a million objects that
    Python's cycle collector walks again and again, which made parsing four times slower."""

    def __init__(self, row: int, mapped: dict[str, str]) -> None:
        self.row = row
        self.count = 0
        nested = (fields.ENTRANCES, fields.UNITS, fields.FOOTPRINT)
        self.plain = [h for h in mapped if mapped[h] not in nested]
        self.nested = [h for h in mapped if mapped[h] in nested]
        self.names = [mapped[h] for h in (*self.plain, *self.nested)]
        self.rows: list[tuple] = []  # plain values, then nested ones as JSON text
        self.points: list[int] = []
        self.xs: list[float] = []
        self.ys: list[float] = []
        self.others: list[int] = []  # other geometries, as GeoJSON
        self.shapes: list[bytes] = []

    def add(self, feature: dict) -> None:
        properties = feature.get("properties") or _NOTHING
        values = tuple(map(properties.get, self.plain))
        if self.nested:
            values += tuple(
                v if v is None or type(v) is str else _json_cell(v)
                for v in map(properties.get, self.nested)
            )
        self.rows.append(values)
        geometry = feature.get("geometry")
        if geometry is not None:
            xy = geometry.get("coordinates")
            if (
                geometry.get("type") == "Point"
                and type(xy) is list
                and len(xy) == 2
                and type(xy[0]) in _NUMBERS
                and type(xy[1]) in _NUMBERS
            ):
                self.points.append(self.count)
                self.xs.append(xy[0])
                self.ys.append(xy[1])
            else:
                self.others.append(self.count)
                self.shapes.append(orjson.dumps(geometry))
        self.count += 1

    def batch(self) -> Batch:
        import numpy as np
        import shapely

        wkb = np.full(self.count, None, dtype=object)
        if self.points:
            wkb[self.points] = shapely.to_wkb(
                shapely.points(np.array(self.xs, dtype=float), np.array(self.ys, dtype=float))
            )
        if self.others:
            # What GEOS cannot read stays None, as GDAL leaves it without a geometry.
            wkb[self.others] = shapely.to_wkb(
                shapely.from_geojson(self.shapes, on_invalid="ignore")
            )
        return Batch(
            rows=list(range(self.row + 1, self.row + self.count + 1)),
            cells={
                name: _json_cells(column)
                for name, column in zip(self.names, zip(*self.rows, strict=True), strict=True)
            },
            geometry=wkb,
        )


def _json_cells(values: Sequence[Any]) -> Any:
    """Property values as Arrow text: numbers and booleans as Arrow writes them, which is
    how GDAL's typed columns become text too; lists and objects as JSON."""
    import pyarrow as pa
    import pyarrow.compute as pc

    kinds = set(map(type, values)) - {type(None)}
    if kinds <= {str, bytes}:  # bytes: lists and objects that _json_cell wrote
        return pa.array(values, pa.string())
    if kinds <= {int, float} or kinds == {bool}:
        with suppress(pa.ArrowInvalid, OverflowError):
            return pc.cast(pa.array(values), pa.string())
    return pa.array([_json_cell(v) for v in values], pa.string())


def _json_cell(value: Any) -> str | bytes | None:
    """A property value as text; a list or object as its JSON in UTF-8 bytes, which Arrow
    takes as they are (as str, they would be decoded only to be encoded again)."""
    if value is None or type(value) is str:
        return value
    if type(value) is bool:
        return "true" if value else "false"
    if type(value) is float:
        text = repr(value)
        return text[:-2] if text.endswith(".0") else text
    if type(value) is int:
        return str(value)
    return orjson.dumps(value)


def _feature_count(target: str, path: Path, kind: FileFormat, layer: str | None) -> int | None:
    """For the progress bar. GeoJSON and NDJSON have no count but their "Feature" tokens,
    which a byte scan finds at disk speed; other formats keep one (or GDAL counts fast)."""
    import pyogrio

    if kind not in (FileFormat.geojson, FileFormat.ndjson):
        count = pyogrio.read_info(target, layer=layer)["features"]
        return int(count) if count >= 0 else None
    token = b'"Feature"'
    count = 0
    tail = b""
    with path.open("rb") as raw:
        while chunk := raw.read(1 << 24):
            data = tail + chunk
            count += data.count(token)
            # The last bytes again with the next chunk, for a token cut in two; never a
            # whole token, which would be counted twice.
            tail = data[-(len(token) - 1) :]
    return count


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
