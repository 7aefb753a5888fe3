"""Population files: CSV (lon/lat or admin code, and a count) or a GeoJSON FeatureCollection
(Point, Polygon or MultiPolygon, or no geometry and an admin code, and a count). Every
problem is reported with the row or feature it is in, all of them at once."""

import csv
import io
import json
import math
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any

from pydantic import Field, TypeAdapter, ValidationError

from app.core import jsonbody
from app.core.errors import BadRequest, FieldError, InvalidInput
from app.core.geo import (
    CoordSys,
    MultiPolygon,
    Point,
    Polygon,
    from_coordsys,
    in_china,
    position_to_wgs84,
)

MAX_FEATURES = 200_000
MAX_RESIDENTS = 10_000_000  # per feature: a whole district, not more
REPORTED_ERRORS = 100
COUNT_NAMES = ("residents", "count", "population")
CSV_COLUMNS = {"lon", "lat", "admin_code", *COUNT_NAMES}
# The headers of Chinese statistical tables, as the facility importer reads them.
CHINESE_HEADERS = {
    "经度": "lon",
    "纬度": "lat",
    "行政区划代码": "admin_code",
    "区划代码": "admin_code",
    "常住人口": "residents",
    "人口": "population",
    "人数": "count",
}

_geometry = TypeAdapter(Annotated[Point | Polygon | MultiPolygon, Field(discriminator="type")])


class PopulationFormat(StrEnum):
    csv = "csv"
    geojson = "geojson"


@dataclass(frozen=True)
class PopulationRow:
    row_no: int
    residents: int
    admin_code: str | None
    ewkt: str | None


class _Errors:
    def __init__(self) -> None:
        self.items: list[FieldError] = []

    def add(self, field: str, message: str) -> None:
        self.items.append(FieldError(field=field, message=message))

    def raise_any(self, what: str) -> None:
        if self.items:
            shown = self.items[:REPORTED_ERRORS]
            listed = "; ".join(f"{e.field}: {e.message}" for e in shown[:5])
            raise InvalidInput(
                f"{len(self.items)} problem(s) in the {what} (first {len(shown)} shown): {listed}"
                if len(self.items) > len(shown)
                else f"{len(self.items)} problem(s) in the {what}: {listed}",
                errors=shown,
            )


def _residents(value: Any, field: str, errors: _Errors) -> int | None:
    if isinstance(value, bool):  # JSON true is no count, though Python's float takes it
        errors.add(field, f"{value!r} is not a number")
        return None
    if isinstance(value, str):
        value = value.strip().replace(",", "")
    try:
        number = float(value)
    except (TypeError, ValueError):
        errors.add(field, f"{value!r} is not a number")
        return None
    if not math.isfinite(number) or number != int(number):
        errors.add(field, f"{value!r} is not a whole number of residents")
    elif number < 0:
        errors.add(field, f"{value!r} is negative")
    elif number > MAX_RESIDENTS:
        errors.add(field, f"{value!r} exceeds {MAX_RESIDENTS:,} residents")
    else:
        return int(number)
    return None


def _admin_code(value: Any, field: str, errors: _Errors) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    code = str(value).strip()
    if len(code) != 6 or not code.isdigit():
        errors.add(field, f"{value!r} is not a six-digit GB/T 2260 code")
        return None
    return code


def _text(data: bytes) -> str:
    """UTF-8 (with or without BOM), else GBK/GB18030, as statistical offices save files
    from Excel; the facility importer reads both the same way."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030")
    except UnicodeDecodeError as exc:
        raise BadRequest(
            f"the file is neither UTF-8 nor GBK/GB18030 text (byte {exc.start})"
        ) from exc


def _utf8(data: bytes) -> bytes:
    try:
        data.decode("utf-8")
        return data
    except UnicodeDecodeError:
        return _text(data).encode()


def read(
    data: bytes, file_format: PopulationFormat, coordsys: CoordSys = CoordSys.wgs84
) -> list[PopulationRow]:
    """The rows, their positions read in `coordsys` and kept in WGS 84."""
    if file_format is PopulationFormat.csv:
        rows = _read_csv(_text(data), coordsys)
    else:
        rows = _read_geojson(_utf8(data), coordsys)
    if not rows:
        raise InvalidInput.on("body", "the file holds no population rows")
    if len(rows) > MAX_FEATURES:
        raise InvalidInput.on("body", f"more than {MAX_FEATURES:,} rows; split the layer")
    return rows


def _read_csv(content: str, coordsys: CoordSys) -> list[PopulationRow]:
    try:
        return _csv_rows(content, coordsys)
    except csv.Error as exc:  # a malformed file: a stray quote, a field over the limit
        raise InvalidInput.on("body", f"not a readable CSV file: {exc}") from exc


def _csv_rows(content: str, coordsys: CoordSys) -> list[PopulationRow]:
    # newline="": the csv module itself reads \r, \n and \r\n line ends (also inside quotes)
    reader = csv.DictReader(io.StringIO(content, newline=""))
    header = [
        CHINESE_HEADERS.get(name.strip(), name.strip().lower()) for name in reader.fieldnames or []
    ]
    if not header:
        raise InvalidInput.on("body", "the CSV file is empty: it needs a header row")
    reader.fieldnames = header
    unknown = [name for name in header if name not in CSV_COLUMNS]
    counts = [name for name in header if name in COUNT_NAMES]
    problems = []
    if unknown:
        problems.append(FieldError(field="header", message=f"unknown column(s) {unknown}"))
    if len(counts) != 1:
        problems.append(
            FieldError(field="header", message=f"needs one count column: {', '.join(COUNT_NAMES)}")
        )
    has_point = "lon" in header and "lat" in header
    if not has_point and "admin_code" not in header:
        problems.append(
            FieldError(field="header", message="needs lon and lat columns, or admin_code")
        )
    if problems:
        raise InvalidInput("; ".join(p.message for p in problems), errors=problems)
    errors = _Errors()
    rows = []
    for row_no, record in enumerate(reader, start=1):
        rows.append(_csv_row(row_no, record, counts[0], errors, coordsys))
    errors.raise_any("CSV file")
    return [row for row in rows if row is not None]


def _csv_row(
    row_no: int, record: dict[str, Any], count: str, errors: _Errors, coordsys: CoordSys
) -> PopulationRow | None:
    before = len(errors.items)
    if None in record:
        errors.add(f"row {row_no}", "more values than columns")
    residents = _residents(record.get(count), f"row {row_no}.{count}", errors)
    admin_code = _admin_code(record.get("admin_code"), f"row {row_no}.admin_code", errors)
    ewkt = None
    lon, lat = (str(record.get(k) or "").strip() for k in ("lon", "lat"))
    if lon or lat:
        try:
            x, y = float(lon), float(lat)
        except ValueError:
            errors.add(f"row {row_no}.lon", f"lon/lat {lon!r}, {lat!r} are not numbers")
        else:
            if in_china(x, y):
                x, y = position_to_wgs84(x, y, coordsys)
                ewkt = f"SRID=4326;POINT({x!r} {y!r})"
            else:
                errors.add(f"row {row_no}.lon", f"position [{x}, {y}] lies outside China")
    elif admin_code is None and len(errors.items) == before:
        errors.add(f"row {row_no}", "needs lon and lat, or an admin_code")
    if len(errors.items) > before or residents is None:
        return None
    return PopulationRow(row_no, residents, admin_code, ewkt)


def _read_geojson(data: bytes, coordsys: CoordSys) -> list[PopulationRow]:
    try:
        document = jsonbody.loads(data, what="body")
    except json.JSONDecodeError as exc:
        raise BadRequest(
            f"malformed JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from exc
    except UnicodeDecodeError as exc:
        raise BadRequest(f"the file is not UTF-8 text (byte {exc.start})") from exc
    if not isinstance(document, dict) or document.get("type") != "FeatureCollection":
        raise InvalidInput.on("body", "must be a GeoJSON FeatureCollection")
    features = document.get("features")
    if not isinstance(features, list):
        raise InvalidInput.on("body.features", "must be an array of features")
    errors = _Errors()
    rows = []
    for number, feature in enumerate(features, start=1):
        rows.append(_feature_row(number, feature, errors, coordsys))
    errors.raise_any("GeoJSON file")
    return [row for row in rows if row is not None]


def _feature_row(
    number: int, feature: Any, errors: _Errors, coordsys: CoordSys
) -> PopulationRow | None:
    where = f"features[{number}]"
    if not isinstance(feature, dict) or feature.get("type") != "Feature":
        errors.add(where, "is not a GeoJSON Feature")
        return None
    before = len(errors.items)
    properties = feature.get("properties") or {}
    if not isinstance(properties, dict):
        errors.add(f"{where}.properties", "must be an object")
        return None
    counts = [name for name in COUNT_NAMES if name in properties]
    residents = None
    if len(counts) != 1:
        errors.add(f"{where}.properties", f"needs one count: {', '.join(COUNT_NAMES)}")
    else:
        residents = _residents(properties[counts[0]], f"{where}.properties.{counts[0]}", errors)
    admin_code = _admin_code(properties.get("admin_code"), f"{where}.properties.admin_code", errors)
    ewkt = None
    if feature.get("geometry") is not None:
        try:
            geometry = _geometry.validate_python(feature["geometry"])
            ewkt = from_coordsys(geometry, coordsys).to_ewkt()
        except ValidationError as exc:
            errors.add(f"{where}.geometry", exc.errors()[0]["msg"].removeprefix("Value error, "))
        except InvalidInput as exc:  # valid as given, not once moved to WGS 84 (rare)
            errors.add(f"{where}.geometry", exc.detail.removeprefix("body: "))
    elif admin_code is None and len(errors.items) == before:
        errors.add(where, "needs a geometry, or an admin_code property")
    if len(errors.items) > before or residents is None:
        return None
    return PopulationRow(number, residents, admin_code, ewkt)
