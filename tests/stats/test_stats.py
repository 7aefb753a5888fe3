"""GET /v1/stats and /v1/stats/parking-by-year against independent SQL over the sources."""

import csv
import io
import random

import pytest
from sqlalchemy import Connection, text
from sqlalchemy.orm import Session

from app import demo
from app.demo import maintenance as maintenance_demo
from app.demo import reports as reports_demo
from app.demo import signage as signage_demo
from app.demo import uses as uses_demo
from app.maintenance import repository as maintenance

LEVEL_COLUMN = {"province": "province_code", "city": "city_code", "district": "district_code"}


@pytest.fixture
def loaded(connection: Connection) -> int:
    """Demo facilities with every kind of source row; returns the id before them."""
    after = connection.execute(text("SELECT coalesce(max(id), 0) FROM facility")).scalar_one()
    demo.load(connection, size=400, seed=7)
    uses_demo.load(connection, after_id=after)
    signage_demo.load(connection, seed=7, after_id=after)
    maintenance_demo.load(connection, seed=7, after_id=after)
    reports_demo.load(connection, seed=7, after_id=after)
    return after


def _expected(connection: Connection, where: str, params: dict, group: str) -> dict:
    """Figures per group straight from facility, peacetime_use and problem_report."""
    sql = f"""
SELECT {group} AS key, count(*) AS facilities,
    coalesce(sum(f.building_area), 0) AS building_area_m2,
    coalesce(sum(f.shelter_area), 0) AS shelter_area_m2,
    coalesce(sum(f.capacity_persons), 0) AS capacity_persons,
    coalesce(sum(coalesce(
        (SELECT u.total_spaces FROM peacetime_use u
         WHERE u.facility_id = f.id AND u.type = 'parking'),
        f.peacetime_parking_spaces, 0)), 0) AS parking_spaces,
    coalesce(sum((SELECT coalesce(sum(u.charging_piles), 0) FROM peacetime_use u
                  WHERE u.facility_id = f.id)), 0) AS charging_piles,
    count(*) FILTER (WHERE EXISTS (SELECT FROM peacetime_use u
                     WHERE u.facility_id = f.id AND u.type = 'cool_spot')) AS cool_spots,
    coalesce(sum((SELECT count(*) FROM problem_report p
                  WHERE p.facility_id = f.id AND p.status <> 'resolved')), 0) AS open_reports,
    array_agg(f.id) AS ids
FROM facility f
WHERE f.deleted_at IS NULL AND {where}
GROUP BY 1
"""
    return {row.key: row for row in connection.execute(text(sql), params)}


def test_figures_agree_with_independent_sql_on_random_subsets(client, connection, loaded):
    rng = random.Random(11)
    session = Session(connection)
    codes = ["340000", "340100", "340200", "340104", "340111", "341200"]
    for _ in range(8):
        filters = {"admin_code": rng.choice(codes)}
        if rng.random() < 0.5:
            filters["wartime_function"] = rng.choice(["personnel_shelter", "supporting"])
        if rng.random() < 0.4:
            filters["status"] = rng.choice(["in_service", "under_construction"])
        if rng.random() < 0.3:
            filters["construction_form"] = rng.choice(["attached", "standalone"])
        level = rng.choice(["city", "district", None])
        by_year = rng.random() < 0.5
        by = ",".join(([level] if level else []) + (["year"] if by_year else []))
        response = client.get("/v1/stats", params={**filters, "by": by})
        assert response.status_code == 200, response.text
        body = response.json()

        level_of = {"340000": "province", "340100": "city", "340200": "city", "341200": "city"}
        area = LEVEL_COLUMN[level_of.get(filters["admin_code"], "district")]
        conditions = [f"f.{area} = :admin_code", "f.id > :after"]
        conditions += [f"f.{k} = :{k}" for k in filters if k != "admin_code"]
        keys = ([f"f.{LEVEL_COLUMN[level]}"] if level else []) + (
            ["f.completion_year"] if by_year else []
        )
        group = f"({', '.join(keys)})::text" if keys else "'all'"
        expected = _expected(
            connection, " AND ".join(conditions), {**filters, "after": loaded}, group
        )
        groups = body["groups"] if keys else [body["total"]]
        assert len(groups) == len(expected)
        for got in groups:
            values = ([got["admin_code"]] if level else []) + (
                [got["completion_year"]] if by_year else []
            )
            key = _row_text(values) if keys else "all"
            want = expected[key]
            for name in (
                "facilities",
                "building_area_m2",
                "shelter_area_m2",
                "capacity_persons",
                "parking_spaces",
                "charging_piles",
                "open_reports",
            ):
                assert float(got[name]) == pytest.approx(float(getattr(want, name))), name
            assert got["facilities_by_use"]["cool_spot"] == want.cool_spots
            open_findings = sum(
                len(maintenance.findings(session, facility_id, open_only=True))
                for facility_id in want.ids
            )
            assert got["open_maintenance_findings"] == open_findings
        assert body["total"]["facilities"] == sum(w.facilities for w in expected.values())


def _row_text(values: list) -> str:
    """How PostgreSQL prints a row of these values as text, for matching groups."""
    if len(values) == 1:
        return "" if values[0] is None else str(values[0])
    return "(" + ",".join("" if v is None else str(v) for v in values) + ")"


def test_signage_completion_matches_the_signage_progress(client, loaded):
    stats = client.get("/v1/stats", params={"admin_code": "340100", "by": "district"}).json()
    progress = client.get("/v1/signage/progress", params={"admin_code": "340100"}).json()
    by_code = {g["code"]: g for g in progress["groups"]}
    assert stats["total"]["signage_standing"] == progress["total"] > 0
    assert stats["total"]["signage_complete"] == progress["complete"]
    for group in stats["groups"]:
        if group["signage_standing"]:
            want = by_code[group["admin_code"]]
            assert (group["signage_standing"], group["signage_complete"]) == (
                want["total"],
                want["complete"],
            )


def test_figures_count_the_works_their_reader_may_see(client, client_for, connection, loaded):
    """Restricted works (the demo's command posts) count for those who see them, at every
    level: a city total with them and districts without would give them away."""
    restricted = connection.execute(
        text(
            "SELECT count(*), count(*) FILTER (WHERE district_code = '340104') FROM facility "
            "WHERE id > :after AND deleted_at IS NULL AND visibility = 'restricted'"
        ),
        {"after": loaded},
    ).one()
    assert restricted[0] > 0

    def facilities(caller, **params) -> int:
        response = caller.get("/v1/stats", params={"admin_code": "340000", **params})
        assert response.status_code == 200, response.text
        return response.json()["total"]["facilities"]

    anonymous = client_for(None)
    assert facilities(client) - facilities(anonymous) == restricted[0]
    assert facilities(anonymous, wartime_function="command_post") == 0
    assert facilities(client, wartime_function="command_post") == restricted[0]
    shushan = client_for("manager", admin_codes=["340104"])
    assert facilities(shushan) - facilities(anonymous) == restricted[1]
    for caller in (anonymous, client_for("operator", facility_ids=[1]), client_for("gis")):
        by_city = caller.get("/v1/stats", params={"by": "city"}).json()
        assert sum(g["facilities"] for g in by_city["groups"]) == by_city["total"]["facilities"]
    spaces = connection.execute(
        text(
            "SELECT coalesce(sum(parking_spaces), 0) FROM facility_figure "
            "WHERE facility_id > :after AND visibility = 'restricted'"
        ),
        {"after": loaded},
    ).scalar_one()

    def parking(caller) -> int:
        return sum(y["new_spaces"] for y in caller.get("/v1/stats/parking-by-year").json())

    assert parking(client) - parking(anonymous) == spaces


def test_figures_follow_every_write(client, create, payload):
    def total() -> dict:
        return client.get("/v1/stats", params={"admin_code": "340104"}).json()["total"]

    before = total()
    facility = create(completion_year=2023)
    after_create = total()
    assert after_create["facilities"] == before["facilities"] + 1
    assert after_create["parking_spaces"] == before["parking_spaces"] + 320  # design spaces
    use = client.post(
        f"/v1/facilities/{facility['id']}/uses",
        json={
            "type": "parking",
            "attributes": {"total_spaces": 300, "charging_piles": 12, "charging_max_kw": 60},
        },
    )
    assert use.status_code == 201, use.text
    with_use = total()
    assert with_use["parking_spaces"] == before["parking_spaces"] + 300  # the car park's
    assert with_use["charging_piles"] == before["charging_piles"] + 12
    assert with_use["facilities_by_use"]["parking"] == before["facilities_by_use"]["parking"] + 1
    report = client.post(f"/v1/facilities/{facility['id']}/reports", json={"kind": "locked"})
    assert report.status_code == 201, report.text
    assert total()["open_reports"] == before["open_reports"] + 1
    assert client.delete(f"/v1/facilities/{facility['id']}").status_code == 204
    assert total() == before


def test_restricted_figure_only_for_readers_in_scope(client, public_client, client_for, create):
    create()
    assert "open_maintenance_findings" in client.get("/v1/stats").json()["total"]
    assert "open_maintenance_findings" not in public_client.get("/v1/stats").json()["total"]
    manager = client_for("manager", admin_codes=["340104"])
    inside = manager.get("/v1/stats", params={"admin_code": "340104"}).json()
    outside = manager.get("/v1/stats", params={"admin_code": "340103"}).json()
    assert "open_maintenance_findings" in inside["total"]
    assert "open_maintenance_findings" not in outside["total"]
    assert public_client.get("/v1/stats").json()["total"]["facilities"] >= 1


def test_csv_has_the_json_groups(client, create):
    create()
    create(admin_code="340103", location={"type": "Point", "coordinates": [117.26, 31.88]})
    params = {"admin_code": "340100", "by": "district"}
    document = client.get("/v1/stats", params=params).json()
    response = client.get("/v1/stats", params=params, headers={"Accept": "text/csv"})
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [r["admin_code"] for r in rows] == [g["admin_code"] for g in document["groups"]]
    for row, group in zip(rows, document["groups"], strict=True):
        assert int(row["facilities"]) == group["facilities"]
        assert int(row["facilities_parking"]) == group["facilities_by_use"]["parking"]
        assert int(row["open_maintenance_findings"]) == group["open_maintenance_findings"]
    assert client.get("/v1/stats", params={**params, "f": "csv"}).text == response.text


def test_demo_reproduces_the_provincial_parking_figures(client, connection):
    after = connection.execute(text("SELECT coalesce(max(id), 0) FROM facility")).scalar_one()
    demo.load(connection)
    uses_demo.load(connection, after_id=after)
    stats = client.get("/v1/stats", params={"status": "in_service"}).json()
    years = client.get("/v1/stats/parking-by-year", params={"status": "in_service"}).json()
    by_year = {y["year"]: y for y in years}
    # The province's figures are of the end of 2023; the demo's works go on to 2025.
    assert by_year[2023]["cumulative_spaces"] == pytest.approx(710_000, rel=0.01)
    assert by_year[2023]["new_spaces"] == pytest.approx(55_300, rel=0.01)
    assert years[-1]["cumulative_spaces"] == stats["total"]["parking_spaces"]
    table = client.get("/v1/stats/parking-by-year", params={"status": "in_service", "f": "csv"})
    rows = list(csv.DictReader(io.StringIO(table.text)))
    assert [int(r["new_spaces"]) for r in rows] == [y["new_spaces"] for y in years]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"by": "city,district"}, "by"),
        ({"by": "street"}, "by"),
        ({"admin_code": "999999"}, "admin_code"),
        ({"admin_code": "34"}, "query.admin_code"),
        ({"status": "open"}, "query.status"),
        ({"f": "xlsx"}, "query.f"),
    ],
)
def test_bad_parameters_are_named(public_client, params, field):
    response = public_client.get("/v1/stats", params=params)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert [e["field"] for e in response.json()["errors"]] == [field]
