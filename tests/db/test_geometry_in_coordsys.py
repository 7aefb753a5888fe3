"""geometry_in_coordsys moves every vertex of any geometry as app.core.geo does one
position (prcoords, the reference), keeps the type, the ring structure and the SRID, and
leaves WGS 84, CGCS2000 and positions outside China alone."""

import pytest
import shapely
from sqlalchemy import text

from app.core.geo import CoordSys, position_from_wgs84

GEOMETRIES = [
    "POINT(117.2272 31.8206)",
    "MULTIPOINT((117.2 31.8),(2.35 48.85))",  # Hefei and Paris, which is never shifted
    "LINESTRING(117 31,118 32,119 31.5)",
    "POLYGON((117.2 31.8,117.3 31.8,117.3 31.9,117.2 31.8),"
    "(117.25 31.82,117.28 31.82,117.28 31.84,117.25 31.82))",
    "MULTIPOLYGON(((117.22 31.82,117.23 31.82,117.23 31.83,117.22 31.82)),"
    "((121.47 31.23,121.48 31.23,121.48 31.24,121.47 31.23)))",
    "GEOMETRYCOLLECTION(POINT(116.404 39.915),LINESTRING(87.6 43.8,87.7 43.9))",
]


def moved(connection, wkt: str, coordsys: str) -> tuple[shapely.Geometry, int]:
    wkb, srid = connection.execute(
        text(
            "SELECT ST_AsBinary(g), ST_SRID(g) FROM "
            "geometry_in_coordsys(ST_GeomFromText(:wkt, 4326), :coordsys) AS g"
        ),
        {"wkt": wkt, "coordsys": coordsys},
    ).one()
    return shapely.from_wkb(bytes(wkb)), srid


@pytest.mark.parametrize("coordsys", [CoordSys.gcj02, CoordSys.bd09])
@pytest.mark.parametrize("wkt", GEOMETRIES)
def test_every_vertex_as_the_python_reference(connection, wkt, coordsys):
    source = shapely.from_wkt(wkt)
    result, srid = moved(connection, wkt, coordsys.value)
    assert srid == 4326
    assert result.geom_type == source.geom_type
    expected = shapely.transform(
        source,
        lambda xy: [position_from_wgs84(lon, lat, coordsys) for lon, lat in xy],
    )
    assert shapely.get_num_coordinates(result) == shapely.get_num_coordinates(expected)
    assert shapely.equals_exact(result, expected, tolerance=1e-9), (result.wkt, expected.wkt)
    if source.geom_type == "Polygon":
        assert len(result.interiors) == len(source.interiors) == 1


@pytest.mark.parametrize("coordsys", ["wgs84", "cgcs2000"])
def test_unshifted_systems_are_the_stored_geometry(connection, coordsys):
    for wkt in GEOMETRIES:
        result, _ = moved(connection, wkt, coordsys)
        assert shapely.equals_exact(result, shapely.from_wkt(wkt), tolerance=0)


def test_null_stays_null(connection):
    assert connection.execute(text("SELECT geometry_in_coordsys(NULL, 'gcj02')")).scalar() is None
