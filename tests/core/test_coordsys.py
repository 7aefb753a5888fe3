import pytest
from pyproj import Geod

from app.core.geo import CoordSys, gcj02_applies, position_from_wgs84, position_to_wgs84

GEOD = Geod(ellps="WGS84")


# Reference values published with the widely used open implementations (coordtransform).
def test_known_published_values():
    assert position_from_wgs84(116.404, 39.915, CoordSys.gcj02) == pytest.approx(
        (116.41024449916938, 39.91640428150164), abs=1e-9
    )
    assert position_to_wgs84(116.404, 39.915, CoordSys.gcj02) == pytest.approx(
        (116.39775550083061, 39.91359571849836), abs=2e-5
    )
    # BD-09 of a GCJ-02 position (116.404, 39.915): via WGS 84 and back it must land there.
    wgs = position_to_wgs84(116.404, 39.915, CoordSys.gcj02)
    assert position_from_wgs84(*wgs, CoordSys.bd09) == pytest.approx(
        (116.41036949371029, 39.92133699351021), abs=1e-6
    )


@pytest.mark.parametrize("coordsys", [CoordSys.gcj02, CoordSys.bd09])
@pytest.mark.parametrize(
    ("lon", "lat"),
    [
        (117.2272, 31.8206),
        (116.404, 39.915),
        (121.47, 31.23),
        (87.62, 43.83),
        (126.64, 45.76),
        (110.33, 20.03),
    ],
)
def test_round_trip_stays_within_half_a_metre(coordsys, lon, lat):
    shifted = position_from_wgs84(lon, lat, coordsys)
    _, _, offset = GEOD.inv(lon, lat, *shifted)
    assert 50 < offset < 1500  # the shift itself is hundreds of metres
    back = position_to_wgs84(*shifted, coordsys)
    _, _, error = GEOD.inv(lon, lat, *back)
    assert error < 0.5


# The border rule: the ChinaMapShift rectangles (see app/core/geo.py).
@pytest.mark.parametrize(
    ("place", "lon", "lat", "shifted"),
    [
        ("Beijing", 116.40, 39.90, True),
        ("Hong Kong", 114.17, 22.30, True),
        ("Macau", 113.54, 22.19, True),
        ("Sanya, Hainan", 109.51, 18.25, True),
        ("Dandong, on the Yalu", 124.39, 40.13, True),
        ("Sinuiju, across the Yalu: inside the band", 124.40, 40.10, True),
        ("Pyongyang", 125.75, 39.03, False),
        ("Seoul", 126.98, 37.57, False),
        ("Taipei", 121.56, 25.03, False),
        ("Hanoi", 105.85, 21.03, False),
        ("Ulaanbaatar", 106.92, 47.92, False),
        ("Vladivostok", 131.89, 43.12, False),
        ("Paris", 2.35, 48.86, False),
    ],
)
def test_border_rule(place, lon, lat, shifted):
    assert gcj02_applies(lon, lat) is shifted
    moved = position_from_wgs84(lon, lat, CoordSys.gcj02) != (lon, lat)
    assert moved is shifted
