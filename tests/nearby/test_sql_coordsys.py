"""The SQL shift functions (app/db/sql/functions: gcj02_applies, wgs84_to_gcj02,
gcj02_to_bd09) must agree with app.core.geo (prcoords and the region rule), within 1e-9
degrees: the nearby answers are written by the former, read by the latter."""

import itertools

import pytest
from sqlalchemy import text

from app.core.geo import CoordSys, gcj02_applies, position_from_wgs84

GRID = [(lon, lat) for lon, lat in itertools.product(range(72, 140, 3), range(2, 57, 3))] + [
    (116.404, 39.915),
    (124.39, 40.13),
    (124.40, 40.10),
    (125.75, 39.03),
    (121.56, 25.03),
    (114.17, 22.30),
    (109.51, 18.25),
    (105.85, 21.03),
    (131.89, 43.12),
    (2.35, 48.86),
]


def test_region_rule_agrees(connection):
    rows = connection.execute(
        text("SELECT lon, lat, gcj02_applies(lon, lat) FROM unnest(:lons, :lats) AS p(lon, lat)"),
        {"lons": [float(p[0]) for p in GRID], "lats": [float(p[1]) for p in GRID]},
    ).all()
    assert [applies for _, _, applies in rows] == [gcj02_applies(lon, lat) for lon, lat in GRID]


@pytest.mark.parametrize("coordsys", [CoordSys.gcj02, CoordSys.bd09])
def test_forward_shift_agrees(connection, coordsys):
    shifted = (
        "wgs84_to_gcj02(lon, lat)"
        if coordsys == CoordSys.gcj02
        else "CASE WHEN gcj02_applies(lon, lat) THEN (SELECT gcj02_to_bd09(g[1], g[2]) "
        "FROM (SELECT wgs84_to_gcj02(lon, lat) AS g) s) ELSE ARRAY[lon, lat] END"
    )
    rows = connection.execute(
        text(f"SELECT {shifted} FROM unnest(:lons, :lats) AS p(lon, lat)"),
        {"lons": [float(p[0]) for p in GRID], "lats": [float(p[1]) for p in GRID]},
    ).scalars()
    for (lon, lat), (sql_lon, sql_lat) in zip(GRID, rows, strict=True):
        assert (sql_lon, sql_lat) == pytest.approx(
            position_from_wgs84(lon, lat, coordsys), abs=1e-9
        )
