import csv
import io
from datetime import date

import pytest
from sqlalchemy import text

WUHU = {
    "admin_code": "340200",
    "location": {"type": "Point", "coordinates": [118.38, 31.33]},
    "entrances": [],
}
BENGBU = {
    "admin_code": "340300",
    "location": {"type": "Point", "coordinates": [117.39, 32.92]},
    "entrances": [],
}


def add_signs(client, facility_id: int, *signs: tuple[str, str, str | None]) -> None:
    for kind, status, installed_on in signs:
        body = {"kind": kind, "status": status, "installed_on": installed_on}
        response = client.post(f"/v1/facilities/{facility_id}/signs", json=body)
        assert response.status_code == 201, response.text


def required(signage: dict) -> dict[str, int]:
    return {r["kind"]: r["min_count"] for r in signage["requirements"]}


def test_each_locality_has_its_rule_set(client, create):
    hefei = client.get(f"/v1/facilities/{create()['id']}/signage").json()
    wuhu = client.get(f"/v1/facilities/{create(**WUHU)['id']}/signage").json()
    bengbu_not_parking = create(**BENGBU, peacetime_parking_spaces=None)
    bengbu = client.get(f"/v1/facilities/{bengbu_not_parking['id']}/signage").json()

    assert hefei["rule_locality"] == "340100" and hefei["used_for_parking"]
    assert required(hefei)["direction"] == 2 and "overview_board" in required(hefei)
    assert wuhu["rule_locality"] == "340200"
    assert {"maintenance_board", "conversion"} <= set(required(wuhu))
    # No city rules: the province's; not used for parking: no parking signs.
    assert bengbu["rule_locality"] == "340000" and not bengbu["used_for_parking"]
    assert set(required(bengbu)) == {
        "identification_plaque",
        "pedestrian_entrance",
        "direction",
        "wartime_evacuation",
    }


def test_completeness_counts_installed_signs_against_the_rules(client, create):
    facility = create(**BENGBU, peacetime_parking_spaces=None)
    url = f"/v1/facilities/{facility['id']}/signage"
    add_signs(
        client,
        facility["id"],
        ("identification_plaque", "installed", "2021-06-01"),
        ("pedestrian_entrance", "installed", "2021-06-02"),
        ("direction", "planned", None),
        ("wartime_evacuation", "installed", "2021-06-03"),
    )
    state = client.get(url).json()
    assert not state["complete"]
    assert [r["kind"] for r in state["requirements"] if not r["satisfied"]] == ["direction"]

    direction = next(s for s in state["signs"] if s["kind"] == "direction")
    sign_url = f"/v1/facilities/{facility['id']}/signs/{direction['id']}"
    etag = client.get(sign_url).headers["etag"]
    patched = client.patch(
        sign_url,
        json={"status": "installed", "installed_on": "2021-07-01"},
        headers={"If-Match": etag},
    )
    assert patched.status_code == 200, patched.text
    assert patched.headers["etag"] == '"2"'
    assert client.get(url).json()["complete"]

    # A damaged sign no longer counts, and the facility shows up as needing work.
    plaque = next(s for s in state["signs"] if s["kind"] == "identification_plaque")
    client.patch(
        f"/v1/facilities/{facility['id']}/signs/{plaque['id']}",
        json={"status": "damaged"},
        headers={"If-Match": "*"},
    )
    state = client.get(url).json()
    assert not state["complete"] and state["damaged"] == 1
    listed = client.get("/v1/signage/incomplete", params={"admin_code": "340300"}).json()
    mine = [i for i in listed["items"] if i["facility_id"] == facility["id"]]
    assert mine and mine[0]["damaged"] == 1
    assert [m["kind"] for m in mine[0]["missing"]] == ["identification_plaque"]


def test_sign_updates_race_and_validate(client, create):
    facility = create()
    add_signs(client, facility["id"], ("direction", "planned", None))
    sign = client.get(f"/v1/facilities/{facility['id']}/signage").json()["signs"][0]
    url = f"/v1/facilities/{facility['id']}/signs/{sign['id']}"
    assert client.patch(url, json={"status": "removed"}).status_code == 428
    assert (
        client.patch(url, json={"status": "removed"}, headers={"If-Match": '"1"'}).status_code
        == 200
    )
    assert (
        client.patch(url, json={"status": "planned"}, headers={"If-Match": '"1"'}).status_code
        == 412
    )
    for body, field in (
        ({"status": "installed"}, "installed_on"),
        ({"status": "installed", "installed_on": "2099-01-01"}, "installed_on"),
        ({"status": "installed", "installed_on": "0001-01-01"}, "body.installed_on"),
        ({"inspected_on": "2101-01-01"}, "body.inspected_on"),
        ({"description": "蜀山\u0000"}, "body.description"),
        ({"installed_on": "2022-01-01", "inspected_on": "2021-01-01"}, "inspected_on"),
        ({"status": None}, "body.status"),
        ({"colour": "red"}, "body.colour"),
    ):
        response = client.patch(url, json=body, headers={"If-Match": "*"})
        assert response.status_code == 422, body
        assert field in [e["field"] for e in response.json()["errors"]]
    assert client.get(f"/v1/facilities/{facility['id']}/signs/999999").status_code == 404


def test_incomplete_list_filters_by_admin_code(client, create):
    hefei = create()
    wuhu = create(**WUHU)
    ids = {
        i["facility_id"]
        for i in client.get("/v1/signage/incomplete", params={"admin_code": "340200"}).json()[
            "items"
        ]
    }
    assert wuhu["id"] in ids and hefei["id"] not in ids
    ids = {
        i["facility_id"]
        for i in client.get("/v1/signage/incomplete", params={"admin_code": "340104"}).json()[
            "items"
        ]
    }
    assert hefei["id"] in ids
    assert client.get("/v1/signage/incomplete", params={"admin_code": "349999"}).status_code == 422


@pytest.fixture
def campaign(client, create, connection):
    """Two Shushan and one Baohe parking facilities signed during the campaign, one
    Shushan facility left unsigned."""
    # Only this test's facilities count: hide any others in the database.
    connection.execute(text("UPDATE facility SET deleted_at = now()"))
    hefei_rules = (
        "identification_plaque",
        "pedestrian_entrance",
        "overview_board",
        "wartime_evacuation",
        "vehicle_entrance",
        "peacetime_use",
    )
    done = []
    for finished in ("2021-05-20", "2022-08-10"):
        facility = create()
        signs = [(kind, "installed", "2021-05-03") for kind in hefei_rules]
        signs += [("direction", "installed", "2021-05-03"), ("direction", "installed", finished)]
        add_signs(client, facility["id"], *signs)
        done.append(facility)
    baohe = create(
        admin_code="340111",
        location={"type": "Point", "coordinates": [117.30, 31.79]},
        entrances=[],
    )
    add_signs(
        client,
        baohe["id"],
        *[(kind, "installed", "2022-02-14") for kind in hefei_rules],
        ("direction", "installed", "2022-02-14"),
        ("direction", "installed", "2022-02-15"),
    )
    create()
    return done


def test_progress_per_district_with_the_monthly_timeline(client, campaign):
    progress = client.get("/v1/signage/progress", params={"admin_code": "340100"}).json()
    assert (progress["total"], progress["complete"]) == (4, 3)
    groups = {g["code"]: g for g in progress["groups"]}
    assert (groups["340104"]["total"], groups["340104"]["complete"]) == (3, 2)
    assert groups["340104"]["name"] == "蜀山区" and groups["340104"]["ratio"] == pytest.approx(
        0.6667
    )
    assert (groups["340111"]["total"], groups["340111"]["complete"]) == (1, 1)
    timeline = {m["month"]: m for m in progress["timeline"]}
    assert timeline["2021-05"] == {
        "month": "2021-05",
        "installs": 15,
        "completed": 1,
        "cumulative_completed": 1,
    }
    assert timeline["2022-02"]["completed"] == 1 and timeline["2022-02"]["installs"] == 8
    assert timeline["2022-08"] == {
        "month": "2022-08",
        "installs": 1,
        "completed": 1,
        "cumulative_completed": 3,
    }

    province = client.get("/v1/signage/progress", params={"admin_code": "340000"}).json()
    assert [g["code"] for g in province["groups"]] == ["340100"]
    assert province["groups"][0]["complete"] == 3


def test_progress_counts_parking_facilities_on_request(client, campaign, create):
    create(peacetime_parking_spaces=None)
    everything = client.get("/v1/signage/progress", params={"admin_code": "340100"}).json()
    parking = client.get(
        "/v1/signage/progress", params={"admin_code": "340100", "parking_only": True}
    ).json()
    assert everything["total"] == parking["total"] + 1


def test_demo_signage_tells_the_campaign(connection):
    from app import demo
    from app.demo import signage as signage_demo

    after_id = connection.execute(text("SELECT coalesce(max(id), 0) FROM facility")).scalar_one()
    demo.load(connection, size=600, seed=7)
    assert signage_demo.load(connection, seed=7, after_id=after_id) > 0
    first, last = connection.execute(
        text("""
            SELECT min(s.installed_on), max(s.installed_on)
            FROM sign s JOIN facility f ON f.id = s.facility_id
            WHERE f.id > :after AND f.peacetime_parking_spaces IS NOT NULL
                AND coalesce(f.completion_year, 2000) <= 2021
        """),
        {"after": after_id},
    ).one()
    assert first >= date(2021, 5, 1)
    assert last <= date(2022, 8, 31)


@pytest.mark.parametrize(
    ("as_of", "complete", "last_month"),
    [("2021-04-30", 0, None), ("2021-12-31", 1, "2021-05"), ("2022-03-01", 2, "2022-02")],
)
def test_progress_as_of_a_day_counts_the_signs_up_then(
    client, campaign, as_of, complete, last_month
):
    params = {"admin_code": "340100", "as_of": as_of}
    progress = client.get("/v1/signage/progress", params=params).json()
    assert progress["as_of"] == as_of
    assert (progress["total"], progress["complete"]) == (4, complete)
    months = [m["month"] for m in progress["timeline"]]
    assert (months[-1] if months else None) == last_month
    # Registered today, completed before the day: each counted, and said to be late.
    assert progress["late_registrations"] == 4
    assert [g["late_registrations"] for g in progress["groups"]] == [
        g["total"] for g in progress["groups"]
    ]
    rows = list(
        csv.DictReader(
            io.StringIO(client.get("/v1/signage/progress", params={**params, "f": "csv"}).text)
        )
    )
    assert [int(r["late_registrations"]) for r in rows] == [
        g["late_registrations"] for g in progress["groups"]
    ]
    today = client.get("/v1/signage/progress", params={"admin_code": "340100"}).json()
    assert today["late_registrations"] is None


def test_progress_as_csv(client, campaign):
    params = {"admin_code": "340100"}
    document = client.get("/v1/signage/progress", params=params).json()
    response = client.get("/v1/signage/progress", params={**params, "f": "csv"})
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [(r["code"], int(r["total"]), int(r["complete"])) for r in rows] == [
        (g["code"], g["total"], g["complete"]) for g in document["groups"]
    ]
    future = client.get("/v1/signage/progress", params={**params, "as_of": "2999-01-01"})
    assert future.status_code == 422 and "as_of" in future.text
