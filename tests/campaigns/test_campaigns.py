"""Campaigns: their definition refused when wrong, their evaluation against hand counts and
the demo's provincial signage campaign."""

import pytest
from sqlalchemy import create_engine, text

from app import demo
from app.config import Settings
from app.demo import campaigns as campaigns_demo
from app.demo import maintenance as maintenance_demo
from app.demo import signage as signage_demo
from app.demo import uses as uses_demo
from tests.conftest import run_migrations


# A campaign counts the works of a whole province as they stood on past days: a database
# of this module's own, so that works, signs and audit rows that other modules committed
# to the worker's database (a live server's, a command's) never count.
@pytest.fixture(scope="module")
def settings(settings, make_database):
    return Settings(database_url=make_database(), media_dir=settings.media_dir)


@pytest.fixture(scope="module")
def engine(settings):
    engine = create_engine(settings.sqlalchemy_url)
    with engine.begin() as connection:
        run_migrations(connection)
    yield engine
    engine.dispose()


HEFEI_RULES = (
    "identification_plaque",
    "pedestrian_entrance",
    "overview_board",
    "wartime_evacuation",
    "vehicle_entrance",
    "peacetime_use",
)
BODY = {
    "name": "合肥市人防车库标识整治",
    "admin_codes": ["340100"],
    "parking_only": True,
    "starts_on": "2021-05-01",
    "target_on": "2021-12-31",
}


def add_signs(client, facility_id: int, day: str, *, direction: int = 2) -> None:
    kinds = [*HEFEI_RULES, *["direction"] * direction]
    for kind in kinds:
        body = {"kind": kind, "status": "installed", "installed_on": day}
        response = client.post(f"/v1/facilities/{facility_id}/signs", json=body)
        assert response.status_code == 201, response.text


@pytest.fixture
def works(client, create, connection):
    """Hefei car parks: one signed in June 2021, one in March 2022, one with a direction
    sign short; a Hefei work not used for parking; only these count."""
    connection.execute(text("UPDATE facility SET deleted_at = now()"))
    early, late, short = create(), create(), create()
    add_signs(client, early["id"], "2021-06-15")
    add_signs(client, late["id"], "2022-03-02")
    add_signs(client, short["id"], "2021-07-01", direction=1)
    create(peacetime_parking_spaces=None)
    return early, late, short


def test_evaluation_at_target_and_today(client, works):
    created = client.post("/v1/campaigns", json=BODY)
    assert created.status_code == 201, created.text
    body = client.get(f"/v1/campaigns/{created.json()['id']}").json()
    assert body["campaign"]["name"] == BODY["name"]
    # At the target day only the June work was complete; all three were registered later.
    assert body["at_target"] | {"on": None} == {
        "on": None,
        "works": 3,
        "complete": 1,
        "ratio": 0.3333,
        "late_registrations": 3,
    }
    assert (body["today"]["works"], body["today"]["complete"]) == (3, 2)
    [short] = body["short"]
    assert short["facility_id"] == works[2]["id"]
    assert short["missing"] == [
        {"kind": "direction", "min_count": 2, "installed": 1, "satisfied": False}
    ]
    months = {m["month"]: m for m in body["timeline"]}
    assert body["timeline"][0]["month"] == "2021-05" and body["timeline"][-1]["month"] == "2022-03"
    assert months["2021-06"]["cumulative_completed"] == 1
    assert months["2022-03"] == {"month": "2022-03", "completed": 1, "cumulative_completed": 2}
    assert len(body["timeline"]) == 11
    assert [c["id"] for c in client.get("/v1/campaigns").json()] == [created.json()["id"]]


def test_a_rule_set_holds_every_work_to_it(client, works):
    # The province's rules ask for no overview board nor vehicle-entrance sign.
    body = client.post(
        "/v1/campaigns", json={**BODY, "name": "by province rules", "rule_locality": "340000"}
    ).json()
    evaluation = client.get(f"/v1/campaigns/{body['id']}").json()
    assert evaluation["today"]["complete"] == 3 and evaluation["short"] == []


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"target_on": "2021-04-01"}, "target_on"),
        ({"admin_codes": ["349999"]}, "admin_codes"),
        ({"admin_codes": []}, "admin_codes"),
        ({"rule_locality": "340181"}, "rule_locality"),
        ({"name": " "}, "name"),
        ({"kind": "parade"}, "kind"),
        ({"starts_on": "1800-01-01"}, "starts_on"),
    ],
)
def test_bad_campaigns_are_refused(client, change, field):
    response = client.post("/v1/campaigns", json={**BODY, **change})
    assert response.status_code == 422, response.text
    assert field in response.text
    assert client.get("/v1/campaigns").json() == []


def test_only_admins_create_and_unknown_ids_are_404(client, client_for, public_client):
    assert public_client.post("/v1/campaigns", json=BODY).status_code == 401
    assert (
        client_for("manager", admin_codes=["340100"]).post("/v1/campaigns", json=BODY).status_code
        == 403
    )
    assert client.post("/v1/campaigns", json=BODY).status_code == 201
    assert client.post("/v1/campaigns", json=BODY).status_code == 409
    missing = public_client.get("/v1/campaigns/999999")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"


def test_demo_campaign_was_done_before_its_target(client, connection):
    connection.execute(text("UPDATE facility SET deleted_at = now()"))
    after = connection.execute(text("SELECT coalesce(max(id), 0) FROM facility")).scalar_one()
    demo.load(connection, size=600, seed=7)
    uses_demo.load(connection, after_id=after)
    signage_demo.load(connection, seed=7, after_id=after)
    assert campaigns_demo.load(connection) == 2 and campaigns_demo.load(connection) == 0
    campaign, _ = client.get("/v1/campaigns").json()
    body = client.get(f"/v1/campaigns/{campaign['id']}").json()
    assert body["campaign"]["target_on"] == "2023-04-30"
    # Every car park got every required sign: the works short today, and most of those
    # short at the target day, carry a sign found damaged at an inspection.
    assert body["at_target"]["works"] > 100
    assert 0.9 < body["at_target"]["ratio"] <= body["today"]["ratio"] < 1
    assert body["short"] and all(work["damaged"] > 0 for work in body["short"])
    months = {m["month"]: m["cumulative_completed"] for m in body["timeline"]}
    assert body["timeline"][0]["month"] == "2021-05"
    assert 0 < months["2021-05"] < months["2022-08"] <= months["2023-04"]


def test_demo_maintenance_campaign_counts_the_inspected_works(client, connection):
    connection.execute(text("UPDATE facility SET deleted_at = now()"))
    after = connection.execute(text("SELECT coalesce(max(id), 0) FROM facility")).scalar_one()
    demo.load(connection, size=600, seed=7)
    maintenance_demo.load(connection, seed=7, after_id=after)
    campaigns_demo.load(connection)
    _, campaign = client.get("/v1/campaigns").json()
    assert campaign["kind"] == "maintenance"
    body = client.get(f"/v1/campaigns/{campaign['id']}").json()
    # Independently: Hefei works standing with an inspection in the last 92 days.
    inspected = connection.execute(
        text(
            "SELECT count(DISTINCT f.id) FROM facility f JOIN maintenance_record r"
            " ON r.facility_id = f.id AND r.kind = 'inspection'"
            " WHERE f.deleted_at IS NULL AND f.status IN ('in_service', 'suspended')"
            " AND f.city_code = '340100' AND r.performed_on >= current_date - 92"
            " AND r.performed_on >= :starts_on"
        ),
        {"starts_on": campaign["starts_on"]},
    ).scalar_one()
    assert 0 < body["today"]["complete"] == inspected < body["today"]["works"]
