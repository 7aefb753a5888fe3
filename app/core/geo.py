"""Geometry at the API edge: GeoJSON models, range and validity checks, China bounds,
and the coordinate systems answers are written in."""

from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any, Literal

import numpy as np
import prcoords
import shapely
from fastapi import Query
from geoalchemy2 import WKBElement
from geoalchemy2.shape import to_shape as wkb_to_shape
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from shapely.geometry import mapping, shape
from shapely.geometry.base import BaseGeometry
from sqlalchemy import ColumnElement, cast, func, literal
from sqlalchemy.dialects.postgresql import JSON

from app.core.errors import BadRequest, InvalidInput

Lon = Annotated[float, Field(ge=-180, le=180, description="longitude, degrees east")]
Lat = Annotated[float, Field(ge=-90, le=90, description="latitude, degrees north")]
Position = tuple[Lon, Lat]

# The extreme points of China's territory (Pamir to the Wusu river, Zengmu shoal to the
# Heilong river). A bounding box, not an outline: loaded division boundaries give the
# exact test, and a location outside every loaded boundary is rejected there.
CHINA_BOUNDS = (73.5, 3.8, 135.1, 53.6)


def in_china(lon: float, lat: float) -> bool:
    west, south, east, north = CHINA_BOUNDS
    return west <= lon <= east and south <= lat <= north


class _Geometry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    def to_shape(self) -> BaseGeometry:
        return shape(self.model_dump())

    def to_ewkt(self) -> str:
        return "SRID=4326;" + self.to_shape().wkt


def to_geojson(element: WKBElement) -> dict[str, Any]:
    """A stored geometry as a GeoJSON geometry object."""
    return mapping(wkb_to_shape(element))


def _check_in_china(positions: list[tuple[float, float]]) -> None:
    for lon, lat in positions:
        if not in_china(lon, lat):
            raise ValueError(f"position [{lon}, {lat}] lies outside China")


class Point(_Geometry):
    type: Literal["Point"]
    coordinates: Position

    @model_validator(mode="after")
    def _inside_china(self) -> "Point":
        _check_in_china([self.coordinates])
        return self


Ring = Annotated[list[Position], Field(min_length=4)]


def _check_rings(rings: list[list[tuple[float, float]]]) -> None:
    for ring in rings:
        if ring[0] != ring[-1]:
            raise ValueError("a linear ring must be closed: its first and last positions differ")
        _check_in_china(ring)


class _Areal(_Geometry):
    @model_validator(mode="after")
    def _valid(self) -> Any:
        geom = self.to_shape()
        if not geom.is_valid:
            raise ValueError(f"invalid polygon: {shapely.is_valid_reason(geom)}")
        return self


class Polygon(_Areal):
    type: Literal["Polygon"]
    coordinates: Annotated[list[Ring], Field(min_length=1)]

    @model_validator(mode="after")
    def _closed(self) -> "Polygon":
        _check_rings(self.coordinates)
        return self


class MultiPolygon(_Areal):
    type: Literal["MultiPolygon"]
    coordinates: Annotated[list[Annotated[list[Ring], Field(min_length=1)]], Field(min_length=1)]

    @model_validator(mode="after")
    def _closed(self) -> "MultiPolygon":
        for polygon in self.coordinates:
            _check_rings(polygon)
        return self


Areal = Annotated[Polygon | MultiPolygon, Field(discriminator="type")]


class CoordSys(StrEnum):
    """Coordinate systems callers speak. CGCS2000 is within about a metre of WGS 84,
    so it is taken as is; GCJ-02 (Amap, Tencent, WeChat) and BD-09 (Baidu) are shifted."""

    wgs84 = "wgs84"
    cgcs2000 = "cgcs2000"
    gcj02 = "gcj02"
    bd09 = "bd09"

    @classmethod
    def _missing_(cls, value: object) -> "CoordSys | None":
        # Baidu's own name for BD-09 longitude/latitude (its APIs' coord_type=bd09ll).
        return cls.bd09 if value == "bd09ll" else None

    @property
    def shifted(self) -> bool:
        return self in (CoordSys.gcj02, CoordSys.bd09)

    @property
    def crs(self) -> str:
        """The system's URI for a Content-Crs header. GCJ-02 and BD-09 have none in any
        register: these are the registry's own names, so no client mistakes a shifted
        answer for RFC 7946 WGS 84."""
        return COORDSYS_CRS[self]


COORDSYS_CRS = {
    CoordSys.wgs84: "http://www.opengis.net/def/crs/OGC/1.3/CRS84",
    CoordSys.cgcs2000: "http://www.opengis.net/def/crs/EPSG/0/4490",
    CoordSys.gcj02: "urn:rf-registry:crs:gcj02",
    CoordSys.bd09: "urn:rf-registry:crs:bd09",
}


def crs_header(coordsys: CoordSys) -> dict[str, str]:
    """Content-Crs (OGC API - Features Part 2) of an answer in `coordsys`: GeoJSON is
    WGS 84 by RFC 7946 unless both sides agree otherwise, and this header says so."""
    return {"Content-Crs": f"<{coordsys.crs}>"}


# The query parameter of every route that reads or writes positions.
CoordSysQuery = Annotated[
    CoordSys,
    Query(
        description="system of every position given and answered: wgs84, cgcs2000, gcj02 "
        "(Amap, Tencent, WeChat) or bd09 (Baidu; also bd09ll)"
    ),
]
# CGCS2000 3-degree Gauss-Krüger zones, central meridians 75-135 E: EPSG:4513-4533 with
# the zone number before the easting, 4534-4554 without. Hefei lies in 4548 (117 E).
GAUSS_KRUGER = range(4513, 4555)


def gauss_kruger_srid(value: str, *, field: str) -> int:
    """The EPSG code of a Gauss-Krüger zone given as EPSG:NNNN (or its OGC URI)."""
    code = value.strip().removeprefix("http://www.opengis.net/def/crs/EPSG/0/")
    code = code.removeprefix("EPSG:")
    if not (code.isascii() and code.isdigit()) or int(code) not in GAUSS_KRUGER:
        raise BadRequest(
            f"{field}: {value!r} is not a CGCS2000 3-degree Gauss-Krüger zone: "
            f"EPSG:{GAUSS_KRUGER.start} to EPSG:{GAUSS_KRUGER.stop - 1} (Hefei: EPSG:4548)"
        )
    return int(code)


@dataclass(frozen=True)
class Positions:
    """How an answer writes stored (WGS 84) positions: longitude/latitude in a caller's
    system, or, for GIS files and OGC clients, metres in a projected system (`srid`)."""

    coordsys: CoordSys = CoordSys.wgs84
    srid: int = 4326

    def sql(self, geometry: ColumnElement) -> ColumnElement:
        if self.srid != 4326:
            return func.ST_Transform(geometry, self.srid)
        if self.coordsys.shifted:
            # app/db/sql/functions/geometry_in_coordsys.sql
            return func.geometry_in_coordsys(geometry, literal(self.coordsys.value))
        return geometry

    def geojson(self, geometry: ColumnElement) -> ColumnElement:
        # 7 decimals of a degree are about 1 cm, and so are 2 of a metre: finer is noise.
        return cast(func.ST_AsGeoJSON(self.sql(geometry), 7 if self.srid == 4326 else 2), JSON)


WGS84 = Positions()

# Where GCJ-02 (and so BD-09) applies: the rectangles of the widely used "ChinaMapShift"
# heuristic, as (west, south, east, north). They cover the mainland, Hainan, Hong Kong and
# Macau, and cut out Taiwan, northern Vietnam, Mongolia and the Russian Far East. Along a
# land border they are exact to tens of kilometres only: e.g. Sinuiju, across the Yalu from
# Dandong, counts as shifted, Pyongyang and Seoul do not. Map SDKs switch systems at the
# border too, so a pin within that band may be off by the offset (about 500 m) either way.
# SQL twin: app/db/sql/functions/gcj02_applies.sql (see position_from_wgs84).
_GCJ02_INCLUDE = (
    (79.4462, 42.8899, 96.3300, 49.2204),
    (109.6872, 39.3742, 135.0002, 54.1415),
    (73.1246, 29.5297, 124.143255, 42.8899),
    (82.9684, 26.7186, 97.0352, 29.5297),
    (97.0253, 20.414096, 124.367395, 29.5297),
    (107.975793, 17.871542, 111.744104, 20.414096),
)
_GCJ02_EXCLUDE = (
    (119.921265, 21.785006, 122.497559, 25.398623),
    (101.8652, 20.0988, 106.665, 22.284),
    (106.4525, 20.4878, 108.051, 21.5422),
    (109.0323, 50.3257, 119.127, 55.8175),
    (127.4568, 49.5574, 137.0227, 55.8175),
    (131.2662, 42.5692, 137.0227, 44.8922),
)


def _inside(lon: float, lat: float, rectangles: tuple[tuple[float, ...], ...]) -> bool:
    return any(w <= lon <= e and s <= lat <= n for w, s, e, n in rectangles)


def gcj02_applies(lon: float, lat: float) -> bool:
    return _inside(lon, lat, _GCJ02_INCLUDE) and not _inside(lon, lat, _GCJ02_EXCLUDE)


# prcoords works in (lat, lon); its precise inverses shift positions abroad as well, so
# the region rule above decides, in both directions.
# Both directions are needed here: the inverse reads callers' positions (nearby, writes,
# imports, boundaries), the forward one the audit trail's snapshots. The forward shift is
# also written in SQL (app/db/sql/functions/wgs84_to_gcj02.sql, gcj02_to_bd09.sql,
# geometry_in_coordsys.sql), because PostgreSQL writes the shifted positions of nearby
# answers into use_search and builds documents, exports and tiles; the Python one is the
# reference that tests/nearby/test_sql_coordsys.py and
# tests/db/test_geometry_in_coordsys.py hold the SQL to, within 1e-9 degrees.
_TO_WGS84 = {CoordSys.gcj02: prcoords.gcj_wgs_bored, CoordSys.bd09: prcoords.bd_wgs_bored}
_FROM_WGS84 = {CoordSys.gcj02: prcoords.wgs_gcj, CoordSys.bd09: prcoords.wgs_bd}


def _convert(lon: float, lat: float, table: dict, coordsys: CoordSys) -> tuple[float, float]:
    convert = table.get(coordsys)
    if convert is None or not gcj02_applies(lon, lat):
        return lon, lat
    lat_out, lon_out = convert((lat, lon), False)
    return lon_out, lat_out


def position_to_wgs84(lon: float, lat: float, coordsys: CoordSys) -> tuple[float, float]:
    return _convert(lon, lat, _TO_WGS84, coordsys)


def position_from_wgs84(lon: float, lat: float, coordsys: CoordSys) -> tuple[float, float]:
    return _convert(lon, lat, _FROM_WGS84, coordsys)


def geojson_in(geometry: dict[str, Any] | None, coordsys: CoordSys) -> dict[str, Any] | None:
    """A WGS 84 GeoJSON geometry (as the audit trail keeps them) in `coordsys`, to the
    7 decimals of the documents PostgreSQL writes."""
    if geometry is None or not coordsys.shifted:
        return geometry
    return mapping(
        shapely.transform(
            shape(geometry),
            lambda xy: (
                np.array([position_from_wgs84(lon, lat, coordsys) for lon, lat in xy])
                .reshape(xy.shape)
                .round(7)
            ),
        )
    )


def to_wgs84(geom: BaseGeometry, coordsys: CoordSys) -> BaseGeometry:
    if coordsys not in _TO_WGS84:
        return geom
    return shapely.transform(
        geom,
        lambda xy: np.array([position_to_wgs84(lon, lat, coordsys) for lon, lat in xy]).reshape(
            xy.shape
        ),
    )


GEOMETRY_TYPES = frozenset(
    ("Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon")
)


def geometries_in(value: Any, coordsys: CoordSys) -> Any:
    """A JSON value (a snapshot or the changes of the audit trail, kept in WGS 84 as
    stored) with every GeoJSON geometry in it, at any depth, in `coordsys`."""
    if not coordsys.shifted:
        return value
    if isinstance(value, dict):
        if value.get("type") in GEOMETRY_TYPES and "coordinates" in value:
            return geojson_in(value, coordsys)
        return {key: geometries_in(item, coordsys) for key, item in value.items()}
    if isinstance(value, list):
        return [geometries_in(item, coordsys) for item in value]
    return value


def from_coordsys(model: Any, coordsys: CoordSys) -> Any:
    """A request model with every geometry in it, at any depth, read in `coordsys` and
    moved to WGS 84, the system the registry stores."""
    if not coordsys.shifted:
        return model
    if isinstance(model, _Geometry):
        moved = mapping(to_wgs84(model.to_shape(), coordsys))
        try:
            return type(model).model_validate(moved)
        except ValidationError as exc:
            # In China before the shift and valid, so rare: near the border, or a polygon
            # whose sliver of a hole the shift closed.
            raise InvalidInput.on(
                "body", f"{model.type} in WGS 84: {exc.errors()[0]['msg']}"
            ) from None
    if isinstance(model, BaseModel):
        return model.model_copy(
            update={
                name: from_coordsys(getattr(model, name), coordsys)
                for name in model.model_fields_set
            }
        )
    if isinstance(model, list):
        return [from_coordsys(item, coordsys) for item in model]
    return model
