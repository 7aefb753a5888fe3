"""GeoJSON laid out a feature per line, read by orjson."""

import codecs
import itertools
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from app.imports import fields
from app.imports.readers import common
from app.imports.readers.common import (
    WGS84_LIKE,
    Batch,
    FileFormat,
    Source,
    map_headers,
)

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


def read_feature_lines(path: Path, kind: FileFormat, mapping: dict[str, str]) -> Source | None:
    """A GeoJSON file laid out a feature per line, read by orjson: GDAL would first parse
    the whole file to learn its fields, then parse it again, more slowly. The property names are those of the first batch of features,
    and each feature is checked as it is read, in one pass. None when the start of the file
    is laid out otherwise; further on, anything off (a property not seen in the first
    batch, a line that is not a feature, no end) raises Reread."""
    layout = _layout(path, kind)
    if layout is None:
        return None
    headers: dict[str, None] = {}
    try:
        for feature in itertools.islice(_checked_features(path, kind, layout), common.BATCH_ROWS):
            headers.update(dict.fromkeys(feature.get("properties") or ()))
    except Reread:
        return None
    mapped, ignored = map_headers(list(headers), mapping)

    def batches() -> Iterator[Batch]:
        features = _Features(0, mapped)
        for feature in _checked_features(path, kind, layout):
            if not (feature.get("properties") or _NOTHING).keys() <= headers.keys():
                raise Reread
            features.add(feature)
            if features.count == common.BATCH_ROWS:
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
    Counted bytewise."""
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
    feature is let go at once: a batch of them kept whole is a mass of objects that
    Python's cycle collector walks again and again."""

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
