"""A batch of read cells turned into COPY rows for staging: geometry parsed, shifted to
WGS 84 and checked in bulk with shapely; entrance and protection unit lists checked by
Arrow (imports.lists) or by the API's own models."""

import json
from typing import Any, NamedTuple

import numpy as np
import shapely
from pydantic import TypeAdapter, ValidationError
from shapely.geometry.base import BaseGeometry

from app.core.geo import Areal, CoordSys, position_to_wgs84, to_wgs84
from app.core.schemas import NUL, NUL_MESSAGE
from app.facilities import rules
from app.facilities.schemas import Entrances, ProtectionUnits
from app.imports import fields, staging
from app.imports.lists import appended, arrow_entrances, arrow_units, in_china_all, plain_entrances
from app.imports.readers.common import Batch
from app.imports.typed import DECIMAL_RE

_ENTRANCES = TypeAdapter(Entrances)


_UNITS = TypeAdapter(ProtectionUnits)


_FOOTPRINT = TypeAdapter(Areal)


_SHIFTED = (CoordSys.gcj02, CoordSys.bd09)


_VALUE_CHARS = 200


def _clip(value: str | None) -> str | None:
    return value if value is None or len(value) <= _VALUE_CHARS else value[:_VALUE_CHARS] + "…"


class StagedBatch:
    """One batch turned into COPY rows: geometry parsed, shifted to WGS 84 and checked in
    bulk with shapely; nested lists checked by the API's own models."""

    def __init__(self, batch: Batch, coordsys: CoordSys) -> None:
        self.batch = batch
        self.coordsys = coordsys
        self.size = len(batch.rows)
        self.errors: list[tuple[int | None, str, str | None, str]] = [
            (row, "", None, reason) for row, reason in batch.broken
        ]
        self.entrances: Any = None  # an Arrow table, when the batch has entrances
        self.units: Any = None  # an Arrow table, when the batch has protection units
        self.failed = np.zeros(self.size, dtype=bool)
        # The location as lon/lat numbers, NaN where there is none.
        self.lon = self.lat = np.full(self.size, np.nan)
        self.footprint: list[str | None] = [None] * self.size
        self._geometry()
        if fields.ENTRANCES in batch.cells:
            self._entrances(batch.cells[fields.ENTRANCES])
        if fields.UNITS in batch.cells:
            self._units(batch.cells[fields.UNITS])

    def table(self) -> Any:
        import pyarrow as pa

        nulls = pa.nulls(self.size, pa.string())
        columns = {"row_no": pa.array(self.batch.rows, pa.int32())}
        for name in fields.STAGED:
            cells = self.batch.cells.get(name)
            columns[name] = nulls if cells is None else _trimmed(cells)
        columns["lon"] = pa.array(self.lon, pa.float64(), from_pandas=True)
        columns["lat"] = pa.array(self.lat, pa.float64(), from_pandas=True)
        columns["footprint"] = pa.array(self.footprint, pa.string())
        columns["geometry_failed"] = pa.array(self.failed)
        return pa.table(columns)

    def copies(self) -> list[tuple[str, staging.CsvCopy]]:
        tables = [("import_row", self.table(), None)]
        if self.entrances is not None:
            tables.append(("import_entrance", self.entrances, fields.ENTRANCES))
        if self.units is not None:
            tables.append(("import_unit", self.units, fields.UNITS))
        copies = []
        for name, table, field_name in tables:
            rows = staging.CsvCopy.of(table)
            if rows.has_nul:
                rows = staging.CsvCopy.of(self._without_nul(table, field_name))
            copies.append((name, rows))
        return copies

    def _without_nul(self, table: Any, field_name: str | None) -> Any:
        """A NUL character would fail the COPY of the whole batch: a cell with one (raw,
        or a name decoded from \\u0000 in a JSON list) is named, which rejects its row,
        and the character dropped."""
        import pyarrow as pa
        import pyarrow.compute as pc

        for position, column in enumerate(table.columns):
            if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
                continue
            found = pc.fill_null(pc.match_substring(column, NUL), False)
            if not pc.any(found).as_py():
                continue
            name = table.column_names[position]
            for row, value in zip(
                table["row_no"].filter(found).to_pylist(),
                column.filter(found).to_pylist(),
                strict=True,
            ):
                self.errors.append((row, field_name or name, _clip(value), NUL_MESSAGE))
            table = table.set_column(position, name, pc.replace_substring(column, NUL, ""))
        return table

    def _error(self, index: int, name: str, value: str | None, reason: str) -> None:
        self.errors.append((self.batch.rows[index], name, _clip(value), reason))
        self.failed[index] = True

    # --- geometry -------------------------------------------------------------------

    def _geometry(self) -> None:
        cells = self.batch.cells
        points = np.full(self.size, None, dtype=object)
        areas = np.full(self.size, None, dtype=object)
        if self.batch.geometry is not None:
            self._take(
                shapely.from_wkb(self.batch.geometry),
                points,
                areas,
                "geometry",
            )
        if fields.WKT in cells:
            wkt = _texts(cells[fields.WKT])
            raw = np.array(wkt, dtype=object)
            given = np.array([bool(v and v.strip()) for v in wkt], dtype=bool)
            parsed = shapely.from_wkt(np.where(given, raw, None), on_invalid="ignore")
            for index in np.flatnonzero(given & shapely.is_missing(parsed)):
                self._error(int(index), fields.WKT, raw[index], "is not WKT geometry")
            self._take(parsed, points, areas, fields.WKT)
        lon = lat = np.full(self.size, np.nan)
        if fields.LON in cells or fields.LAT in cells:
            lon, lat = self._lon_lat()
        if fields.FOOTPRINT in cells:
            self._footprint_cells(_texts(cells[fields.FOOTPRINT]), areas)
        self._finish(points, areas, lon, lat)

    def _take(self, geoms: np.ndarray, points: np.ndarray, areas: np.ndarray, name: str) -> None:
        kinds = shapely.get_type_id(geoms)
        given = kinds >= 0
        empty = given & shapely.is_empty(geoms)
        # 0 Point, 3 Polygon, 4 MultiPoint, 6 MultiPolygon
        point = ~empty & (kinds == 0)
        single = ~empty & (kinds == 4) & (shapely.get_num_geometries(geoms) == 1)
        area = ~empty & ((kinds == 3) | (kinds == 6))
        points[point] = geoms[point]
        points[single] = shapely.get_geometry(geoms[single], 0)
        areas[area] = geoms[area]
        for index in np.flatnonzero(empty):
            self._error(int(index), name, geoms[index].wkt[:_VALUE_CHARS], "is empty")
        for index in np.flatnonzero(given & ~empty & ~point & ~single & ~area):
            self._error(
                int(index),
                name,
                geoms[index].wkt[:_VALUE_CHARS],
                f"a {geoms[index].geom_type} is neither a point nor a polygon",
            )

    def _lon_lat(self) -> tuple[np.ndarray, np.ndarray]:
        """The positions given as lon and lat, NaN where there is none."""
        lon = _decimals(self.batch.cells.get(fields.LON, [None] * self.size))
        lat = _decimals(self.batch.cells.get(fields.LAT, [None] * self.size))
        either = lon.given | lat.given
        for name, column in ((fields.LON, lon), (fields.LAT, lat)):
            for index in np.flatnonzero(either & np.isnan(column.values)):
                reason = (
                    "is not a number"
                    if column.given[index]
                    else "is required with the other coordinate"
                )
                self._error(int(index), name, column.cells[index].as_py() or "", reason)
        both = ~np.isnan(lon.values) & ~np.isnan(lat.values)
        return np.where(both, lon.values, np.nan), np.where(both, lat.values, np.nan)

    def _footprint_cells(self, cells: list[Any], areas: np.ndarray) -> None:
        for index, value in enumerate(cells):
            cell = _json_text(value)
            if cell is None or not cell.strip() or cell.strip() == "null":
                continue
            try:
                areas[index] = _FOOTPRINT.validate_json(cell).to_shape()
            except ValidationError as exc:
                for problem in exc.errors(include_url=False):
                    self._error(index, fields.FOOTPRINT, cell, _message(problem))

    def _finish(
        self, points: np.ndarray, areas: np.ndarray, lon: np.ndarray, lat: np.ndarray
    ) -> None:
        """`points` from geometries, `lon`/`lat` from those columns (which win), as
        numbers: a Point object per row cost 5 s a million rows only to be read back."""
        has_area = ~shapely.is_missing(areas)
        given = ~np.isnan(lon)
        xs = np.where(given, lon, shapely.get_x(points))
        ys = np.where(given, lat, shapely.get_y(points))
        # A polygon's inner point stands for the location when no point is given.
        no_point = np.isnan(xs) & has_area & ~self.failed
        if no_point.any():
            inner = shapely.point_on_surface(areas[no_point])
            xs[no_point], ys[no_point] = shapely.get_x(inner), shapely.get_y(inner)
        if self.coordsys in _SHIFTED:
            for index in np.flatnonzero(~np.isnan(xs)):
                xs[index], ys[index] = position_to_wgs84(xs[index], ys[index], self.coordsys)
            areas = np.array([_shift(g, self.coordsys) for g in areas], dtype=object)
        has_point = ~np.isnan(xs) & ~self.failed
        for index in np.flatnonzero(has_point & ~in_china_all(xs, ys)):
            self._error(
                int(index),
                "location",
                f"{xs[index]}, {ys[index]}",
                f"position [{xs[index]}, {ys[index]}] lies outside China",
            )
        has_area &= ~self.failed
        valid = shapely.is_valid(areas)
        west, south, east, north = shapely.bounds(areas).T
        inside = in_china_all(west, south) & in_china_all(east, north)
        for index in np.flatnonzero(has_area & ~valid):
            self._error(
                int(index),
                fields.FOOTPRINT,
                areas[index].wkt[:_VALUE_CHARS],
                f"invalid polygon: {shapely.is_valid_reason(areas[index])}",
            )
        for index in np.flatnonzero(has_area & valid & ~inside):
            self._error(
                int(index), fields.FOOTPRINT, areas[index].wkt[:_VALUE_CHARS], "lies outside China"
            )
        keep_point = ~np.isnan(xs) & ~self.failed
        keep_area = ~shapely.is_missing(areas) & ~self.failed
        self.lon, self.lat = np.where(keep_point, xs, np.nan), np.where(keep_point, ys, np.nan)
        self.footprint = _ewkb_hex(areas, keep_area)

    # --- nested lists ---------------------------------------------------------------

    def _entrances(self, cells: Any) -> None:
        import pyarrow as pa

        texts = cells if isinstance(cells, pa.Array) else pa.array(cells, pa.string())
        blank, checked, parsed = arrow_entrances(texts)
        rest: list[tuple] = []
        for index in np.flatnonzero(~blank & ~checked):
            cell = texts[int(index)].as_py()
            # The API's model is the authority, but it costs ~30 µs a row; a list that
            # plain_entrances passes is one the model accepts, so only the others go to
            # the model for its verdict.
            entrances = plain_entrances(cell)
            if entrances is None:
                try:
                    entrances = [
                        (e.kind.value, e.accessible, e.name, *e.location.coordinates)
                        for e in _ENTRANCES.validate_json(cell)
                    ]
                except ValidationError as exc:
                    for problem in exc.errors(include_url=False):
                        self._error(int(index), fields.ENTRANCES, cell, _message(problem))
                    continue
            rest += [(int(index), seq, *entrance) for seq, entrance in enumerate(entrances)]
        parsed = appended(parsed, rest)
        if not parsed.num_rows:
            return
        lon, lat = parsed["lon"].to_numpy(), parsed["lat"].to_numpy()
        if self.coordsys in _SHIFTED:
            lon, lat = np.array(
                [position_to_wgs84(x, y, self.coordsys) for x, y in zip(lon, lat, strict=True)]
            ).T
        rows = np.asarray(self.batch.rows, dtype=np.int32)[parsed["index"].to_numpy()]
        self.entrances = pa.table(
            {
                "row_no": rows,
                "seq": parsed["seq"],
                "kind": parsed["kind"],
                "accessible": parsed["accessible"],
                "name": parsed["name"],
                "lon": lon,
                "lat": lat,
            }
        )

    def _units(self, cells: Any) -> None:
        import pyarrow as pa

        texts = (
            cells
            if isinstance(cells, pa.Array)
            else pa.array([_json_text(value) for value in cells], pa.string())
        )
        blank, checked, parsed = arrow_units(texts)
        rest: list[tuple] = []
        # Lists Arrow could not vouch for go to the API's model, which names what is wrong.
        for index in np.flatnonzero(~blank & ~checked):
            cell = texts[int(index)].as_py()
            try:
                units = _UNITS.validate_json(cell)
            except ValidationError as exc:
                for problem in exc.errors(include_url=False):
                    self._error(int(index), fields.UNITS, cell, _message(problem))
                continue
            if rules.repeated_names(units):
                self._error(int(index), fields.UNITS, cell, rules.UNIT_NAMES.message())
                continue
            rest += [
                (int(index), seq, unit.name, unit.shelter_area, unit.capacity_persons)
                for seq, unit in enumerate(units)
            ]
        parsed = appended(parsed, rest)
        if not parsed.num_rows:
            return
        rows = np.asarray(self.batch.rows, dtype=np.int32)[parsed["index"].to_numpy()]
        self.units = pa.table(
            {
                "row_no": rows,
                "seq": parsed["seq"],
                "name": parsed["name"],
                # Python's rounding, which the API applies: Arrow's may differ in the last place.
                "shelter_area": [round(area, 2) for area in parsed["shelter_area"].to_pylist()],
                "capacity_persons": parsed["capacity_persons"],
            }
        )


# An apostrophe before a formula's first character, as CSV exports write such text.
QUOTED_FORMULA = "^'([=+\\-@\\t\\r])"


class _Decimals(NamedTuple):
    cells: Any  # Arrow strings, trimmed
    given: np.ndarray  # not empty
    values: np.ndarray  # NaN where not given or not a number


def _decimals(cells: Any) -> _Decimals:
    """A column of number cells, read at once."""
    import pyarrow as pa
    import pyarrow.compute as pc

    text = pc.utf8_trim_whitespace(
        cells if isinstance(cells, pa.Array) else pa.array(cells, pa.string())
    )
    given = pc.fill_null(pc.greater(pc.utf8_length(text), 0), False)
    numeric = pc.fill_null(pc.match_substring_regex(text, DECIMAL_RE), False)
    values = np.full(len(text), np.nan)
    values[numeric.to_numpy(zero_copy_only=False)] = np.array(
        text.filter(numeric).to_pylist(), dtype=np.float64
    )
    return _Decimals(text, given.to_numpy(zero_copy_only=False), values)


def _trimmed(cells: Any) -> Any:
    """Cells as the checks read them: without the spaces around them (as SQL's btrim
    drops them), without the apostrophe a CSV export puts before text that starts as a
    formula (core.formats.spreadsheet_text), and empty ones as null. Done here by Arrow,
    they cost the server nothing: trimming each cell in the SQL was a fifth of its
    typing and checking."""
    import pyarrow as pa
    import pyarrow.compute as pc

    text = pc.utf8_trim(
        cells if isinstance(cells, pa.Array) else pa.array(cells, pa.string()), characters=" "
    )
    if pc.any(pc.starts_with(text, "'")).as_py():
        text = pc.replace_substring_regex(text, QUOTED_FORMULA, r"\1", max_replacements=1)
    return pc.if_else(pc.equal(text, ""), pa.scalar(None, text.type), text)


def _texts(cells: Any) -> list[Any]:
    """Python values of a column, from a list or an Arrow array."""
    return cells if isinstance(cells, list) else cells.to_pylist()


def _json_text(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def _message(problem: dict[str, Any]) -> str:
    where = ".".join(str(part) for part in problem["loc"])
    return f"{where}: {problem['msg']}" if where else problem["msg"]


def _shift(geom: BaseGeometry | None, coordsys: CoordSys) -> BaseGeometry | None:
    return None if geom is None else to_wgs84(geom, coordsys)


def _ewkb_hex(geoms: np.ndarray, keep: np.ndarray) -> list[str | None]:
    out = np.full(len(geoms), None, dtype=object)
    if keep.any():
        chosen = shapely.set_srid(geoms[keep], 4326)
        out[keep] = shapely.to_wkb(chosen, hex=True, include_srid=True)
    return out.tolist()
