from datetime import date

import pytest
from shapely.geometry import box
from sqlalchemy import Connection, text
from sqlalchemy.orm import Session

from app import demo
from app.divisions.service import BoundaryFeature, load_boundaries

# Anhui's extent, WGS 84 (west, south, east, north).
ANHUI_BOUNDS = (114.87, 29.39, 119.65, 34.66)
HEFEI_DIVISIONS = {
    "340102",
    "340103",
    "340104",
    "340111",
    "340121",
    "340122",
    "340123",
    "340124",
    "340181",
}


def _last_id(connection: Connection) -> int:
    return connection.execute(text("SELECT coalesce(max(id), 0) FROM facility")).scalar_one()


@pytest.fixture
def loaded(connection: Connection) -> int:
    """The default data set, loaded; returns the last facility id from before the load."""
    before = _last_id(connection)
    assert demo.load(connection) == 6000
    return before


def test_parking_totals_match_the_province(connection: Connection, loaded: int) -> None:
    total, of_2023 = connection.execute(
        text(
            "SELECT sum(peacetime_parking_spaces),"
            " sum(peacetime_parking_spaces) FILTER (WHERE completion_year = 2023)"
            " FROM facility WHERE status = 'in_service' AND completion_year <= 2023"
            " AND id > :before"
        ),
        {"before": loaded},
    ).one()
    assert total == pytest.approx(710_000, rel=0.02)
    assert of_2023 == pytest.approx(55_300, rel=0.02)


def test_facilities_lie_in_anhui_with_unique_codes(connection: Connection, loaded: int) -> None:
    row = connection.execute(
        text(
            "SELECT count(*), count(DISTINCT code),"
            " min(ST_X(location)), min(ST_Y(location)), max(ST_X(location)), max(ST_Y(location)),"
            " count(*) FILTER (WHERE code !~ '^RF-[0-9]{6}-[0-9]{7,}$'),"
            " count(DISTINCT city_code), bool_and(province_code = '340000')"
            " FROM facility WHERE id > :before"
        ),
        {"before": loaded},
    ).one()
    count, distinct_codes, west, south, east, north, malformed, cities, in_province = row
    assert count == distinct_codes == 6000
    assert malformed == 0
    assert cities == 16
    assert in_province
    min_lon, min_lat, max_lon, max_lat = ANHUI_BOUNDS
    assert min_lon <= west and east <= max_lon
    assert min_lat <= south and north <= max_lat


def test_hefei_is_largest_and_alone_has_districts(connection: Connection, loaded: int) -> None:
    rows = connection.execute(
        text(
            "SELECT city_code, count(*), array_agg(DISTINCT district_code)"
            " FROM facility WHERE id > :before GROUP BY city_code ORDER BY count(*) DESC"
        ),
        {"before": loaded},
    ).all()
    assert rows[0].city_code == "340100"
    assert rows[0][1] > 2 * rows[1][1]
    assert set(rows[0][2]) <= HEFEI_DIVISIONS
    assert all(row[2] == [None] for row in rows[1:])


def test_children_are_consistent(connection: Connection, loaded: int) -> None:
    entrances, split_mismatch, overfull, car_parks_without_ramp = connection.execute(
        text(
            """
            SELECT
              (SELECT count(*) FROM (
                 SELECT count(*) AS n FROM entrance e JOIN facility f ON f.id = e.facility_id
                 WHERE f.id > :before GROUP BY f.id) c WHERE n NOT BETWEEN 2 AND 4),
              (SELECT count(*) FROM facility f JOIN (
                 SELECT facility_id, sum(shelter_area) AS area, sum(capacity_persons) AS persons
                 FROM protection_unit GROUP BY facility_id) u ON u.facility_id = f.id
               WHERE f.id > :before
                 AND (u.area <> f.shelter_area OR u.persons <> f.capacity_persons)),
              (SELECT count(*) FROM facility
               WHERE id > :before AND capacity_persons > 1.5 * shelter_area),
              (SELECT count(*) FROM facility f
               WHERE f.id > :before AND f.peacetime_parking_spaces IS NOT NULL
                 AND NOT EXISTS (SELECT FROM entrance e
                                 WHERE e.facility_id = f.id AND e.kind = 'vehicle'))
            """
        ),
        {"before": loaded},
    ).one()
    assert (entrances, split_mismatch, overfull, car_parks_without_ramp) == (0, 0, 0, 0)
    assert connection.execute(
        text(
            "SELECT count(DISTINCT facility_id) FROM protection_unit pu"
            " JOIN facility f ON f.id = pu.facility_id WHERE f.id > :before"
        ),
        {"before": loaded},
    ).scalar_one()


def test_a_second_load_appends(connection: Connection, loaded: int) -> None:
    assert demo.load(connection, size=500, seed=7) == 500
    count, distinct_codes = connection.execute(
        text("SELECT count(*), count(DISTINCT code) FROM facility WHERE id > :before"),
        {"before": loaded},
    ).one()
    assert count == distinct_codes == 6500


def _digest(connection: Connection, *, size: int, seed: int) -> str:
    """Loads in a savepoint of its own, digests what it wrote, and rolls it back."""
    savepoint = connection.begin_nested()
    before = _last_id(connection)
    demo.load(connection, size=size, seed=seed)
    digest = connection.execute(
        text(
            "SELECT md5(string_agg(name || address || ST_AsEWKT(location)"
            " || coalesce(peacetime_parking_spaces, -1), '|' ORDER BY id))"
            " FROM facility WHERE id > :before"
        ),
        {"before": before},
    ).scalar_one()
    savepoint.rollback()
    return digest


def test_same_seed_gives_same_data(connection: Connection) -> None:
    first = _digest(connection, size=1000, seed=42)
    assert _digest(connection, size=1000, seed=42) == first
    assert _digest(connection, size=1000, seed=43) != first


def test_the_data_for_a_seed_is_pinned(connection: Connection) -> None:
    # Moving the generator's code or tables must not change what a seed gives.
    assert _digest(connection, size=500, seed=7) == "d7fe21085e8c5adfdd6e8d0ea4f82ed0"


def test_districts_follow_loaded_boundaries(connection: Connection) -> None:
    """With district boundaries loaded, a demo work's district, code and address are those
    of the boundary it lies in (synthetic halves of Hefei's urban area: Shushan west of
    117.27°E, Baohe east of it), never the nearest centre's."""
    with Session(connection) as session:
        halves = [
            BoundaryFeature("340100", None, box(116.9, 31.5, 117.6, 32.1)),
            BoundaryFeature("340104", None, box(116.9, 31.5, 117.27, 32.1)),
            BoundaryFeature("340111", None, box(117.27, 31.5, 117.6, 32.1)),
        ]
        load_boundaries(session, halves, on=date.today())
        session.flush()
    before = _last_id(connection)
    demo.load(connection, size=3000)
    rows = connection.execute(
        text(
            "SELECT f.district_code, count(*),"
            " count(*) FILTER (WHERE f.code LIKE 'RF-' || f.district_code || '-%'"
            "   AND f.address LIKE '%' || d.name || '%'),"
            " count(*) FILTER (WHERE ST_Covers(d.boundary, f.location))"
            " FROM facility f JOIN division d ON d.code = f.district_code"
            " WHERE f.id > :before AND f.district_code IN ('340104', '340111', '340102', '340103')"
            " GROUP BY 1 ORDER BY 1"
        ),
        {"before": before},
    ).all()
    assert [code for code, *_ in rows] == ["340104", "340111"]
    for _, works, consistent, inside in rows:
        assert works > 50 and consistent == inside == works


def test_a_large_set_is_written_in_parts(connection: Connection, monkeypatch) -> None:
    from app.demo import facilities

    monkeypatch.setattr(facilities, "PART_SIZE", 100)
    drawn = text(
        "SELECT name, capacity_persons, ST_AsText(location) FROM facility"
        " WHERE id > :after ORDER BY id LIMIT :count"
    )
    first = _last_id(connection)
    assert demo.load(connection, size=250) == 250
    parts = connection.execute(drawn, {"after": first, "count": 1000}).all()
    second = _last_id(connection)
    assert demo.load(connection, size=100) == 100
    alone = connection.execute(drawn, {"after": second, "count": 1000}).all()
    assert len(parts) == 250
    # The first part is what a load of one part writes; the next ones are drawn anew.
    assert parts[:100] == alone
    assert parts[100:200] != alone
