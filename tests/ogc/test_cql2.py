"""CQL2 filtering (Part 3): each operator class in text and JSON, and the 400s."""

import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from tests.ogc.test_items import EPSG, ITEMS, LAT, LON, ids, point


@pytest.fixture
def three(create, connection) -> dict[str, int]:
    """Three facilities 0.01 degree apart eastwards, with distinct values and times."""
    specs = {
        "small": {"capacity_persons": 100, "shelter_area": 100, "name": "小型人防工程A"},
        "medium": {"capacity_persons": 2000, "shelter_area": 1500, "name": "中型人防车库B"},
        "large": {"capacity_persons": 8000, "shelter_area": 8000, "name": "大型人防车库C"},
    }
    made = {}
    for i, (key, spec) in enumerate(specs.items()):
        made[key] = create(location=point(LON + i * 0.01, LAT), **spec)["id"]
    for key, year in (("small", 2022), ("medium", 2023), ("large", 2024)):
        connection.execute(
            text("UPDATE facility SET updated_at = :t WHERE id = :id"),
            {"t": datetime(year, 6, 1, tzinfo=UTC), "id": made[key]},
        )
    return made


def found(client, three, filter_: str | dict, **params) -> list[str]:
    if isinstance(filter_, dict):
        params |= {"filter": json.dumps(filter_), "filter-lang": "cql2-json"}
    else:
        params |= {"filter": filter_}
    names = {facility_id: key for key, facility_id in three.items()}
    return [names[i] for i in ids(client.get(ITEMS, params=params))]


@pytest.mark.parametrize(
    ("filter_", "expected"),
    [
        ("capacity_persons = 2000", ["medium"]),
        ("capacity_persons <> 2000", ["small", "large"]),
        ("capacity_persons < 2000", ["small"]),
        ("capacity_persons >= 2000", ["medium", "large"]),
        ("capacity_persons > 1999.5", ["medium", "large"]),
        ("2000 <= capacity_persons", ["medium", "large"]),
        ("name = '中型人防车库B'", ["medium"]),
        ("status = 'in_service' AND capacity_persons > 1000", ["medium", "large"]),
        ("capacity_persons = 100 OR capacity_persons = 8000", ["small", "large"]),
        ("NOT (capacity_persons = 100)", ["medium", "large"]),
        ("standalone_type IS NULL AND capacity_persons < 5000", ["small", "medium"]),
        ("wartime_subtype IS NOT NULL AND capacity_persons > 5000", ["large"]),
        ("capacity_persons > shelter_area", ["medium"]),
    ],
)
def test_basic_cql2(public_client, three, filter_, expected):
    assert found(public_client, three, filter_) == expected


@pytest.mark.parametrize(
    ("filter_", "expected"),
    [
        ("name LIKE '%车库%'", ["medium", "large"]),
        ("name LIKE '_型人防工程_'", ["small"]),
        ("name NOT LIKE '%车库%'", ["small"]),
        ("capacity_persons IN (100, 8000)", ["small", "large"]),
        ("capacity_persons NOT IN (100, 8000)", ["medium"]),
        ("capacity_persons BETWEEN 100 AND 2000", ["small", "medium"]),
        ("capacity_persons NOT BETWEEN 100 AND 2000", ["large"]),
        ("CASEI(name) LIKE casei('%a')", ["small"]),
    ],
)
def test_advanced_comparison_and_case_insensitivity(public_client, three, filter_, expected):
    assert found(public_client, three, filter_) == expected


def test_spatial_functions(public_client, three):
    east_two = f"POLYGON(({LON + 0.005} 31.8, {LON + 0.03} 31.8, {LON + 0.03} 31.9, {LON + 0.005} 31.9, {LON + 0.005} 31.8))"
    assert found(public_client, three, f"S_INTERSECTS(geometry, {east_two})") == [
        "medium",
        "large",
    ]
    assert found(public_client, three, f"S_WITHIN(geometry, {east_two})") == ["medium", "large"]
    assert found(public_client, three, f"S_DISJOINT(geometry, {east_two})") == ["small"]
    assert found(public_client, three, f"S_CONTAINS({east_two}, geometry)") == [
        "medium",
        "large",
    ]
    assert found(
        public_client,
        three,
        f"S_INTERSECTS(geometry, BBOX({LON - 0.001}, 31.8, {LON + 0.001}, 31.9))",
    ) == ["small"]
    assert found(public_client, three, f"S_EQUALS(geometry, POINT({LON + 0.02} {LAT}))") == [
        "large"
    ]


def test_filter_crs_reads_geometries_in_that_axis_order(public_client, three):
    lat_first = f"S_INTERSECTS(geometry, BBOX(31.8, {LON - 0.001}, 31.9, {LON + 0.001}))"
    assert found(public_client, three, lat_first, **{"filter-crs": EPSG + "4326"}) == ["small"]
    equal = f"S_EQUALS(geometry, POINT({LAT} {LON + 0.01}))"
    assert found(public_client, three, equal, **{"filter-crs": EPSG + "4490"}) == ["medium"]


@pytest.mark.parametrize(
    ("filter_", "expected"),
    [
        ("T_AFTER(updated_at, TIMESTAMP('2023-01-01T00:00:00Z'))", ["medium", "large"]),
        ("T_BEFORE(updated_at, TIMESTAMP('2023-06-01T00:00:00Z'))", ["small"]),
        ("T_EQUALS(updated_at, TIMESTAMP('2023-06-01T00:00:00Z'))", ["medium"]),
        ("T_DISJOINT(updated_at, TIMESTAMP('2023-06-01T00:00:00Z'))", ["small", "large"]),
        (
            "T_DURING(updated_at, INTERVAL('2022-12-31T00:00:00Z', '2024-01-01T00:00:00Z'))",
            ["medium"],
        ),
        ("T_DURING(updated_at, INTERVAL('2023-01-01', '..'))", ["medium", "large"]),
        ("T_INTERSECTS(updated_at, INTERVAL('..', '2023-06-01'))", ["small", "medium"]),
        ("T_MEETS(updated_at, INTERVAL('2024-06-01T00:00:00Z', '..'))", ["large"]),
        ("updated_at T_AFTER TIMESTAMP('2023-07-01T00:00:00Z')", ["large"]),
    ],
)
def test_temporal_functions_on_the_update_time(public_client, three, filter_, expected):
    assert found(public_client, three, filter_) == expected


def test_cql2_json(public_client, three):
    cases = [
        ({"op": ">", "args": [{"property": "capacity_persons"}, 1000]}, ["medium", "large"]),
        (
            {"op": "between", "args": [{"property": "capacity_persons"}, 100, 2000]},
            ["small", "medium"],
        ),
        (
            {"op": "in", "args": [{"property": "capacity_persons"}, [100, 8000]]},
            ["small", "large"],
        ),
        ({"op": "like", "args": [{"property": "name"}, "%工程%"]}, ["small"]),
        (
            {
                "op": "t_intersects",
                "args": [{"property": "updated_at"}, {"interval": ["2023-01-01", ".."]}],
            },
            ["medium", "large"],
        ),
        (
            {"op": "t_disjoint", "args": [{"property": "updated_at"}, {"date": "2023-06-01"}]},
            ["small", "large"],
        ),
        (
            {
                "op": "s_intersects",
                "args": [{"property": "geometry"}, {"bbox": [LON + 0.015, 31.8, LON + 0.03, 31.9]}],
            },
            ["large"],
        ),
        (
            {
                "op": "and",
                "args": [
                    {
                        "op": "t_after",
                        "args": [{"property": "updated_at"}, {"timestamp": "2023-01-01T00:00:00Z"}],
                    },
                    {"op": "not", "args": [{"op": "isNull", "args": [{"property": "name"}]}]},
                ],
            },
            ["medium", "large"],
        ),
    ]
    for filter_, expected in cases:
        assert found(public_client, three, filter_) == expected, filter_


def test_filters_combine_with_bbox_and_paging(public_client, three):
    params = {"filter": "capacity_persons >= 100", "limit": 1, "bbox": "117.2,31.8,117.26,31.9"}
    first = public_client.get(ITEMS, params=params).json()
    second = public_client.get(next(x["href"] for x in first["links"] if x["rel"] == "next"))
    assert [f["id"] for f in first["features"] + second.json()["features"]] == [
        three["small"],
        three["medium"],
    ]


@pytest.mark.parametrize(
    ("params", "reason"),
    [
        ({"filter": "capacity_persons >"}, "not valid cql2-text"),
        ({"filter": "secret_field = 1"}, "unknown property 'secret_field'"),
        ({"filter": "name = 5"}, "cannot compare string with integer"),
        ({"filter": "capacity_persons LIKE 'x%'"}, "cannot compare integer with string"),
        ({"filter": "capacity_persons LIKE 5"}, "cannot be compared"),
        ({"filter": "T_AFTER(name, TIMESTAMP('2023-01-01T00:00:00Z'))"}, "is not a time"),
        ({"filter": "S_INTERSECTS(name, POINT(1 2))"}, "compares geometries"),
        ({"filter": "S_INTERSECTS(geometry, POINT(500 2))"}, "lies outside"),
        (
            {"filter": "S_INTERSECTS(geometry, POLYGON((0 0, 1 1, 1 0, 0 1, 0 0)))"},
            "invalid geometry",
        ),
        ({"filter": "UPPER(name) = 'X'"}, "unknown function"),
        ({"filter": "capacity_persons + 1 > 2"}, "cannot be used here"),
        ({"filter": "A_CONTAINS(name, ('x'))"}, "not valid"),
        ({"filter": "{]", "filter-lang": "cql2-json"}, "not valid cql2-json"),
        ({"filter": '{"op": "=="}', "filter-lang": "cql2-json"}, "not valid cql2-json"),
        ({"filter": "capacity_persons > 1", "filter-lang": "ecql"}, "filter-lang"),
        ({"filter": "name IN ()"}, "not valid"),
        (
            {"filter": "updated_at > TIMESTAMP('0001-01-01T00:00:00+14:00')"},
            "filter: 0001-01-01T00:00:00+14:00 must lie between 1900-01-01 and 2100-12-31 (UTC)",
        ),
        (
            {
                "filter": '{"op": "like", "args": [{"property": "name"}, "天鹅湖\\u0000%"]}',
                "filter-lang": "cql2-json",
            },
            "filter: '天鹅湖\\x00%' contains a NUL character (\\u0000), which text cannot hold",
        ),
        (
            {"filter": "T_DURING(updated_at, INTERVAL('1899-12-31', '2024-01-01'))"},
            "filter: 1899-12-31 must lie between 1900-01-01 and 2100-12-31",
        ),
    ],
)
def test_bad_filters_are_400_with_the_reason(public_client, params, reason):
    response = public_client.get(ITEMS, params=params)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert reason in response.json()["detail"]
