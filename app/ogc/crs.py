"""Coordinate reference systems of OGC API - Features Part 2, and the SQL that moves
geometries between the stored WGS 84 lon/lat and the caller's system."""

from dataclasses import dataclass

from sqlalchemy import ColumnElement, Float, bindparam, cast, func
from sqlalchemy.dialects.postgresql import JSON

from app.core.errors import BadRequest
from app.core.geo import COORDSYS_CRS, GAUSS_KRUGER, CoordSys, Positions


@dataclass(frozen=True)
class Crs:
    uri: str
    srid: int
    # EPSG:4326 and EPSG:4490 put latitude first (the EPSG axis order), CRS84 longitude.
    lat_first: bool
    # Decimals written: 7 of a degree is about 1 cm, and so are 2 of a metre.
    precision: int
    # The valid area, in the system's axis order: min1, min2, max1, max2.
    extent: tuple[float, float, float, float]
    # GCJ-02 or BD-09: WGS 84 positions shifted, as Chinese map apps draw them.
    coordsys: CoordSys = CoordSys.wgs84
    # Whether bbox-crs and filter-crs may name it, or only the answer's crs: the shifted
    # systems have no inverse in SQL, and a Gauss-Krüger rectangle is no rectangle in
    # longitude and latitude, which the bbox test relies on (see envelope).
    readable: bool = True

    def check(self, position: tuple[float, ...], *, field: str) -> None:
        low1, low2, high1, high2 = self.extent
        if len(position) < 2 or not (low1 <= position[0] <= high1 and low2 <= position[1] <= high2):
            raise BadRequest(f"{field}: {list(position)} lies outside {self.uri}")


LON_LAT = (-180.0, -90.0, 180.0, 90.0)
LAT_LON = (-90.0, -180.0, 90.0, 180.0)
# Web Mercator's square world; Y is cut at about 85.06 degrees of latitude.
MERCATOR = (-20037508.34, -20037508.34, 20037508.34, 20037508.34)
CRS84 = Crs("http://www.opengis.net/def/crs/OGC/1.3/CRS84", 4326, False, 7, LON_LAT)


_EPSG = "http://www.opengis.net/def/crs/EPSG/0/"


def _gauss_kruger(srid: int) -> Crs:
    """A CGCS2000 3-degree Gauss-Krüger zone: northing first, as EPSG defines the axes.
    Codes to 4533 write the zone number before the easting's 500 km false easting."""
    prefix = (srid - 4513 + 25) * 1_000_000 if srid <= 4533 else 0
    return Crs(
        f"{_EPSG}{srid}",
        srid,
        True,
        2,
        (0.0, prefix, 6_500_000.0, prefix + 1_000_000.0),
        readable=False,
    )


SUPPORTED = {
    crs.uri: crs
    for crs in (
        CRS84,
        Crs("http://www.opengis.net/def/crs/EPSG/0/4326", 4326, True, 7, LAT_LON),
        Crs("http://www.opengis.net/def/crs/EPSG/0/4490", 4490, True, 7, LAT_LON),
        Crs("http://www.opengis.net/def/crs/EPSG/0/3857", 3857, False, 2, MERCATOR),
        # No register has GCJ-02 or BD-09: the registry's own URIs (core.geo.COORDSYS_CRS),
        # longitude first like CRS84, so that Content-Crs never passes them off as WGS 84.
        *(
            Crs(COORDSYS_CRS[system], 4326, False, 7, LON_LAT, system, readable=False)
            for system in (CoordSys.gcj02, CoordSys.bd09)
        ),
        *(_gauss_kruger(srid) for srid in GAUSS_KRUGER),
    )
}
STORAGE = CRS84


def parse(value: str | None, *, field: str) -> Crs:
    if value is None:
        return CRS84
    crs = SUPPORTED.get(value.strip().strip("<>"))
    if crs is None:
        named = ", ".join(uri for uri, c in SUPPORTED.items() if c.srid not in GAUSS_KRUGER)
        raise BadRequest(
            f"{field}: {value!r} is not supported; use one of {named}, or a CGCS2000 "
            f"3-degree Gauss-Krüger zone, {_EPSG}{GAUSS_KRUGER.start} to "
            f"{_EPSG}{GAUSS_KRUGER.stop - 1}"
        )
    return crs


def parse_readable(value: str | None, *, field: str) -> Crs:
    """A CRS that positions in the request (bbox, filter) are given in."""
    crs = parse(value, field=field)
    if not crs.readable:
        readable = ", ".join(uri for uri, c in SUPPORTED.items() if c.readable)
        raise BadRequest(f"{field}: {crs.uri} is for answers only; use one of {readable}")
    return crs


def from_storage(geometry: ColumnElement, crs: Crs) -> ColumnElement:
    """A stored (WGS 84 lon/lat) geometry as GeoJSON in `crs`, axis order included."""
    if crs.coordsys.shifted:
        geometry = Positions(crs.coordsys).sql(geometry)
    elif crs.srid != STORAGE.srid:
        geometry = func.ST_Transform(geometry, crs.srid)
    if crs.lat_first:
        geometry = func.ST_FlipCoordinates(geometry)
    # Options 0: without PostGIS's default (8), any SRID but 4326 adds a "crs" member,
    # which RFC 7946 removed and Part 2 replaces with the Content-Crs header.
    return cast(func.ST_AsGeoJSON(geometry, crs.precision, 0), JSON)


def to_storage(geometry: ColumnElement, crs: Crs) -> ColumnElement:
    """A geometry given in `crs` (without an SRID yet) as stored: WGS 84 lon/lat."""
    geometry = func.ST_SetSRID(geometry, crs.srid)
    if crs.lat_first:
        geometry = func.ST_FlipCoordinates(geometry)
    if crs.srid != STORAGE.srid:
        geometry = func.ST_Transform(geometry, STORAGE.srid)
    return geometry


# The bbox parameter's numbers, in the CRS's axis order: min1, min2, max1, max2.
BBOX = ("bbox_min1", "bbox_min2", "bbox_max1", "bbox_max2")


def envelope(crs: Crs) -> ColumnElement:
    """The BBOX parameters, given in `crs`, as a stored rectangle. Every supported system
    maps meridians and parallels to straight lines, so the rectangle stays a rectangle."""
    corners = [bindparam(name, type_=Float) for name in BBOX]
    return to_storage(func.ST_MakeEnvelope(*corners), crs)
