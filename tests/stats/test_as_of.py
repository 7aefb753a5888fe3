"""Statistics as of a date, from the audit trail, and breakdowns by two dimensions."""

import csv
import io
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from sqlalchemy import Connection, text

from app import demo
from app.core.formats import XLSX
from app.demo import signage as signage_demo
from app.demo import uses as uses_demo
from app.stats import survey

ANY = {"If-Match": "*"}
YESTERDAY = (date.today() - timedelta(days=1)).isoformat()


@pytest.fixture
def registered(connection: Connection) -> int:
    """Demo works registered in 2020 (no audit rows, as a bulk load leaves them), with car
    parks and signs; returns the id before them."""
    after = connection.execute(text("SELECT coalesce(max(id), 0) FROM facility")).scalar_one()
    demo.load(connection, size=300, seed=5)
    uses_demo.load(connection, after_id=after)
    signage_demo.load(connection, seed=5, after_id=after)
    connection.execute(
        text("UPDATE facility SET created_at = '2020-01-01T00:00:00+08:00' WHERE id > :after"),
        {"after": after},
    )
    return after


def _gap(client) -> dict[str, int]:
    """Yesterday's figures less today's, of standing works of any status."""
    then, now = total(client, as_of=YESTERDAY), total(client)
    return {name: then[name] - now[name] for name in ("parking_spaces", "signage_complete")}


def total(client, **params) -> dict:
    response = client.get("/v1/stats", params=params)
    assert response.status_code == 200, response.text
    return response.json()["total"]


def test_as_of_counts_the_status_spaces_and_signs_of_that_day(client, connection, registered):
    # A work in service with a car park whose signs are complete.
    facility_id, use_id, spaces = connection.execute(
        text(
            "SELECT f.facility_id, u.id, u.total_spaces FROM facility_figure f"
            " JOIN peacetime_use u ON u.facility_id = f.facility_id AND u.type = 'parking'"
            " WHERE f.facility_id > :after AND f.status = 'in_service' AND f.signage_complete"
            " AND u.total_spaces > 10 ORDER BY 1 LIMIT 1"
        ),
        {"after": registered},
    ).one()
    # Other tests of this database may have changed works today (committed, with their
    # audit rows): the figures are compared through what this test changes.
    before = total(client, status="in_service")
    before_then = total(client, status="in_service", as_of=YESTERDAY)
    gap = _gap(client)

    # Today it is suspended, its car park shrinks and a sign is damaged.
    url = f"/v1/facilities/{facility_id}"
    assert client.patch(url, json={"status": "suspended"}, headers=ANY).status_code == 200
    patched = client.patch(
        f"{url}/uses/{use_id}", json={"attributes": {"total_spaces": 5}}, headers=ANY
    )
    assert patched.status_code == 200, patched.text
    sign = client.get(f"{url}/signage").json()["signs"][0]
    damaged = client.patch(f"{url}/signs/{sign['id']}", json={"status": "damaged"}, headers=ANY)
    assert damaged.status_code == 200, damaged.text

    now = total(client, status="in_service")
    # Today's changes leave yesterday's figures as they were.
    assert total(client, status="in_service", as_of=YESTERDAY) == before_then
    assert now["facilities"] == before["facilities"] - 1
    assert before_then["late_registrations"] == 0
    # Standing works of any status: yesterday's figures exceed today's by what changed.
    assert _gap(client) == {
        "parking_spaces": gap["parking_spaces"] + spaces - 5,
        "signage_complete": gap["signage_complete"] + 1,
    }


def test_late_registrations_count_by_completion_year(client, create, connection, registered):
    create(completion_year=2018)
    create(completion_year=None, status="planned")
    counted = connection.execute(
        text("SELECT count(*) FROM facility WHERE id > :after AND completion_year <= 2019"),
        {"after": registered},
    ).scalar_one()
    end_2019 = total(client, as_of="2019-12-31")
    # Every work was registered later: the demo's in 2020, the API's today.
    assert end_2019["facilities"] == end_2019["late_registrations"] == counted
    by_year = client.get("/v1/stats/parking-by-year", params={"as_of": "2019-12-31"}).json()
    assert all(row["year"] <= 2019 for row in by_year)
    assert sum(row["late_registrations"] for row in by_year) == sum(
        row["car_parks"] for row in by_year
    )
    # Yesterday every demo work was registered; the two made today were not.
    yesterday = total(client, as_of=YESTERDAY)
    assert yesterday["late_registrations"] == 1
    assert yesterday["facilities"] == total(client)["facilities"] - 1
    rows = list(
        csv.DictReader(
            io.StringIO(
                client.get(
                    "/v1/stats/parking-by-year", params={"as_of": "2019-12-31", "f": "csv"}
                ).text
            )
        )
    )
    assert [int(r["late_registrations"]) for r in rows] == [
        r["late_registrations"] for r in by_year
    ]


def test_a_work_loaded_later_and_edited_since_counts_only_from_its_completion_year(
    client, connection, registered
):
    facility_id, year = connection.execute(
        text(
            "SELECT id, completion_year FROM facility WHERE id > :after AND deleted_at IS NULL"
            " AND completion_year BETWEEN 2000 AND 2019 ORDER BY id LIMIT 1"
        ),
        {"after": registered},
    ).one()
    # Loaded today, as a bulk load leaves a row: no audited creation.
    connection.execute(
        text("UPDATE facility SET created_at = now() WHERE id = :id"), {"id": facility_id}
    )
    year_before, its_year = f"{year - 1}-12-31", f"{year}-12-31"
    before, then = total(client, as_of=year_before), total(client, as_of=its_year)
    edited = client.patch(f"/v1/facilities/{facility_id}", json={"name": "改名"}, headers=ANY)
    assert edited.status_code == 200, edited.text
    # The edit (an audited update) says nothing of where the work stood before it was loaded.
    assert total(client, as_of=year_before) == before
    assert total(client, as_of=its_year) == then


def test_two_dimensions_agree_with_independent_sql(client, client_for, connection, registered):
    body = client.get("/v1/stats", params={"by": "wartime_function,decade"}).json()
    expected = {
        (row.function, row.decade): row.n
        for row in connection.execute(
            text(
                "SELECT wartime_function AS function, completion_year / 10 * 10 AS decade,"
                " count(*) AS n FROM facility WHERE deleted_at IS NULL GROUP BY 1, 2"
            )
        )
    }
    got = {(g["wartime_function"], g["completion_decade"]): g["facilities"] for g in body["groups"]}
    assert got == expected
    assert body["by"] == ["wartime_function", "decade"]

    form = client.get("/v1/stats", params={"by": ["city", "construction_form"]}).json()
    assert sum(g["facilities"] for g in form["groups"]) == form["total"]["facilities"]
    assert {g["construction_form"] for g in form["groups"]} <= {"attached", "standalone"}

    protection = client.get("/v1/stats", params={"by": "protection_class"}).json()
    classes = {
        row.pc: row.n
        for row in connection.execute(
            text(
                "SELECT nullif(concat_ws('/', '核' || nuclear_level, '常' || conventional_level),"
                " '') AS pc, count(*) AS n FROM facility WHERE deleted_at IS NULL GROUP BY 1"
            )
        )
    }
    assert {g["protection_class"]: g["facilities"] for g in protection["groups"]} == classes
    # Protection classes are restricted, in aggregates too.
    refused = client_for(None).get("/v1/stats", params={"by": "protection_class"})
    assert refused.status_code == 403
    assert refused.headers["content-type"] == "application/problem+json"


def test_per_capita_figures_by_population_layer(client, create):
    create()  # 8,000 m² of shelter area in Shushan
    layer = client.post(
        "/v1/planning/population-layers",
        params={"name": "per capita"},
        content=b"admin_code,residents\n340104,16000\n340103,4000\n",
        headers={"Content-Type": "text/csv"},
    ).json()
    body = client.get(
        "/v1/stats",
        params={"admin_code": "340100", "by": "district", "population_layer": layer["id"]},
    ).json()
    shushan = next(g for g in body["groups"] if g["admin_code"] == "340104")
    assert shushan["residents"] == 16000
    assert shushan["shelter_area_per_resident_m2"] == 0.5
    assert body["total"]["residents"] == 20000
    missing = client.get("/v1/stats", params={"population_layer": 999999})
    assert missing.status_code == 422 and "population_layer" in missing.text


@pytest.mark.parametrize(("role", "status"), [(None, 401), ("app", 403), ("alert_authority", 403)])
def test_a_population_layer_is_read_only_by_those_who_may_read_layers(
    client, client_for, public_client, role, status
):
    layer = client.post(
        "/v1/planning/population-layers",
        params={"name": "residents"},
        content=b"admin_code,residents\n340104,16000\n",
        headers={"Content-Type": "text/csv"},
    ).json()
    caller = public_client if role is None else client_for(role)
    for layer_id in (layer["id"], 999999):  # whether a layer exists is not told either
        refused = caller.get("/v1/stats", params={"population_layer": layer_id})
        assert refused.status_code == status, refused.text
        assert refused.headers["content-type"] == "application/problem+json"
        assert "16000" not in refused.text
    assert (
        client_for("gis")
        .get("/v1/stats", params={"population_layer": layer["id"]})
        .json()["total"]["residents"]
        == 16000
    )


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"as_of": "2023-13-01"}, "as_of"),
        ({"as_of": (date.today() + timedelta(days=2)).isoformat()}, "as_of"),
        ({"by": "city,district"}, "by"),
        ({"by": "year,decade"}, "by"),
        ({"by": "city,year,wartime_function"}, "by"),
    ],
)
def test_bad_parameters_are_named(client, params, field):
    response = client.get("/v1/stats", params=params)
    assert response.status_code == 422, response.text
    assert field in response.text


def _sheet_rows(content: bytes, sheet: str) -> list[tuple]:
    book = openpyxl.load_workbook(io.BytesIO(content), read_only=True)
    return list(book[sheet].iter_rows(min_row=3, values_only=True))


def test_survey_workbook_adds_up_from_district_to_province(client, connection, registered):
    # A work placed in no district, so that the city's row must count it too.
    connection.execute(
        text(
            "UPDATE facility SET district_code = NULL WHERE id = (SELECT max(id) FROM facility"
            " WHERE city_code = '340100')"
        )
    )
    response = client.get("/v1/stats/survey", params={"admin_code": "340000"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == XLSX
    book = openpyxl.load_workbook(io.BytesIO(response.content), read_only=True)
    assert book.sheetnames == ["表1", "表2", "表3", "表4", "表5"]
    header = next(book["表1"].iter_rows(min_row=2, max_row=2, values_only=True))
    assert header[:4] == ("行政区划代码", "行政区划名称", "级别", "工程数量（处）")
    for sheet in book.sheetnames:
        rows = _sheet_rows(response.content, sheet)
        province, cities = rows[0], [r for r in rows if r[2] == "市"]
        assert province[:3] == ("340000", "安徽省", "省")
        for column in range(3, len(province)):
            assert sum(city[column] for city in cities) == pytest.approx(province[column])
        for index, row in enumerate(rows):
            if row[2] != "市":
                continue
            districts = []
            for below in rows[index + 1 :]:
                if below[2] != "县（区）":
                    break
                districts.append(below)
            if districts:
                for column in range(3, len(row)):
                    assert sum(d[column] for d in districts) == pytest.approx(row[column])
    hefei = [r for r in _sheet_rows(response.content, "表1") if r[0] == "340100"]
    assert [r[1] for r in hefei] == ["合肥市", survey.UNPLACED]
    total = client.get("/v1/stats").json()["total"]
    assert _sheet_rows(response.content, "表1")[0][3] == total["facilities"]
    # As of a day, and for a city: its row first.
    city = client.get("/v1/stats/survey", params={"admin_code": "340100", "as_of": "2019-12-31"})
    first = _sheet_rows(city.content, "表1")[0]
    assert first[:3] == ("340100", "合肥市", "市")
    assert first[3] == total_at(client, "340100", "2019-12-31")


def total_at(client, admin_code: str, day: str) -> int:
    params = {"admin_code": admin_code, "as_of": day}
    return client.get("/v1/stats", params=params).json()["total"]["facilities"]


def test_as_of_is_a_day_in_beijing(client):
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    assert client.get("/v1/stats", params={"as_of": today.isoformat()}).status_code == 200
    tomorrow = client.get("/v1/stats", params={"as_of": (today + timedelta(days=1)).isoformat()})
    assert tomorrow.status_code == 422 and "lies in the future" in tomorrow.text
