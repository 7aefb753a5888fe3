import prcoords
import pytest
from shapely.geometry import Point, box

from app.core.geo import CoordSys, in_china, to_wgs84


def test_wgs84_and_cgcs2000_pass_unchanged():
    p = Point(117.2281, 31.8262)
    assert to_wgs84(p, CoordSys.wgs84).equals(p)
    assert to_wgs84(p, CoordSys.cgcs2000).equals(p)


@pytest.mark.parametrize(
    ("coordsys", "forward"),
    [(CoordSys.gcj02, prcoords.wgs_gcj), (CoordSys.bd09, prcoords.wgs_bd)],
)
def test_shifted_systems_invert_the_forward_transform(coordsys, forward):
    wgs = (31.8262, 117.2281)  # lat, lon
    shifted_lat, shifted_lon = forward(wgs)
    back = to_wgs84(Point(shifted_lon, shifted_lat), coordsys)
    assert back.x == pytest.approx(117.2281, abs=1e-7)
    assert back.y == pytest.approx(31.8262, abs=1e-7)


def test_positions_abroad_are_not_shifted():
    paris = Point(2.3522, 48.8566)
    assert to_wgs84(paris, CoordSys.gcj02).equals(paris)


def test_polygons_are_shifted_vertex_by_vertex():
    square = box(117.2, 31.8, 117.3, 31.9)
    shifted = to_wgs84(square, CoordSys.gcj02)
    assert len(shifted.exterior.coords) == len(square.exterior.coords)
    assert shifted.is_valid
    assert not shifted.equals(square)


@pytest.mark.parametrize(
    ("lon", "lat", "inside"),
    [(117.2, 31.8, True), (87.6, 43.8, True), (2.35, 48.85, False), (139.7, 35.7, False)],
)
def test_in_china(lon, lat, inside):
    assert in_china(lon, lat) is inside
