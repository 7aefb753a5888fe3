"""Geometry at the API edge: GeoJSON models, range and validity checks, China bounds."""

from enum import StrEnum
from typing import Annotated, Any, Literal

import numpy as np
import prcoords
import shapely
from geoalchemy2 import WKBElement
from geoalchemy2.shape import to_shape as wkb_to_shape
from pydantic import BaseModel, ConfigDict, Field, model_validator
from shapely.geometry import mapping, shape
from shapely.geometry.base import BaseGeometry

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
    so it is taken as is; GCJ-02 (Amap, Tencent) and BD-09 (Baidu) are shifted."""

    wgs84 = "wgs84"
    cgcs2000 = "cgcs2000"
    gcj02 = "gcj02"
    bd09 = "bd09"


_TO_WGS84 = {CoordSys.gcj02: prcoords.gcj_wgs_bored, CoordSys.bd09: prcoords.bd_wgs_bored}


def to_wgs84(geom: BaseGeometry, coordsys: CoordSys) -> BaseGeometry:
    convert = _TO_WGS84.get(coordsys)
    if convert is None:
        return geom

    def shift(xy: np.ndarray) -> np.ndarray:
        # prcoords takes (lat, lon). Its precise inverse shifts positions abroad too, so
        # the rule that GCJ-02 leaves them unshifted is applied here.
        return np.array(
            [convert((lat, lon))[::-1] if in_china(lon, lat) else (lon, lat) for lon, lat in xy]
        ).reshape(xy.shape)

    return shapely.transform(geom, shift)
