"""The role x endpoint matrix: every cell, allowed and denied."""

from datetime import date

import pytest
from sqlalchemy import text

ROLES = ("anonymous", "admin", "manager_in", "manager_out", "operator", "gis")
SIGN = {"kind": "identification_plaque", "status": "planned"}
RECORD = {
    "kind": "inspection",
    "performed_on": str(date.today()),
    "performed_by": "维护班组",
    "checks": [{"item_code": "civil.structure", "result": "ok"}],
}

# (method, path, body, expected status per role). {id} is a facility in district 340104.
WRITE = {
    "anonymous": 401,
    "admin": 0,
    "manager_in": 0,
    "manager_out": 403,
    "operator": 403,
    "gis": 403,
}
RESTRICTED = {
    "anonymous": 401,
    "admin": 200,
    "manager_in": 200,
    "manager_out": 403,
    "operator": 403,
    "gis": 200,
}
PUBLIC = dict.fromkeys(ROLES, 200)
MATRIX = [
    ("GET", "/v1/facilities/{id}", None, PUBLIC),
    ("GET", "/v1/facilities", None, PUBLIC),
    ("POST", "/v1/facilities", "facility", {**WRITE, "admin": 201, "manager_in": 201}),
    ("PATCH", "/v1/facilities/{id}", {"name": "改名"}, {**WRITE, "admin": 200, "manager_in": 200}),
    ("DELETE", "/v1/facilities/{id}", None, {**WRITE, "admin": 204, "manager_in": 204}),
    ("POST", "/v1/facilities/{id}/verification", {}, {**WRITE, "admin": 200, "manager_in": 200}),
    ("GET", "/v1/facilities/{id}/signage", None, PUBLIC),
    ("POST", "/v1/facilities/{id}/signs", SIGN, {**WRITE, "admin": 201, "manager_in": 201}),
    ("POST", "/v1/facilities/{id}/maintenance", RECORD, {**WRITE, "admin": 201, "manager_in": 201}),
    ("GET", "/v1/facilities/{id}/maintenance", None, RESTRICTED),
    ("GET", "/v1/facilities/{id}/findings", None, RESTRICTED),
    ("GET", "/v1/facilities/{id}/history", None, RESTRICTED),
    ("GET", "/v1/maintenance/overdue", None, {**RESTRICTED, "manager_out": 200}),
    ("GET", "/v1/maintenance/items", None, PUBLIC),
    ("GET", "/v1/signage/progress", None, PUBLIC),
    ("GET", "/v1/signage/incomplete", None, PUBLIC),
    ("POST", "/v1/facilities/{id}/reports", {"kind": "locked"}, dict.fromkeys(ROLES, 201)),
    ("GET", "/v1/reports", None, {**WRITE, "admin": 200, "manager_in": 200, "manager_out": 200}),
    ("GET", "/v1/reports/statistics", None, PUBLIC),
    ("GET", "/v1/admin/keys", None, {**dict.fromkeys(ROLES, 403), "anonymous": 401, "admin": 200}),
    (
        "POST",
        "/v1/admin/keys",
        {"name": "k", "role": "gis"},
        {**dict.fromkeys(ROLES, 403), "anonymous": 401, "admin": 201},
    ),
]


@pytest.fixture
def facility(client, create):
    return create()


@pytest.fixture
def as_role(client_for, facility):
    def make(role: str):
        return {
            "anonymous": lambda: client_for(None),
            "admin": lambda: client_for("admin"),
            "manager_in": lambda: client_for("manager", admin_codes=["340104"]),
            "manager_out": lambda: client_for("manager", admin_codes=["340200"]),
            "operator": lambda: client_for("operator", facility_ids=[facility["id"]]),
            "gis": lambda: client_for("gis"),
        }[role]()

    return make


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(
    ("method", "path", "body", "expected"), MATRIX, ids=[f"{m} {p}" for m, p, _, _ in MATRIX]
)
def test_role_matrix(as_role, facility, payload, role, method, path, body, expected):
    if body == "facility":
        body = payload(code=f"RF-MATRIX-{role}")
    headers = {"If-Match": "*"} if method == "PATCH" else {}
    response = as_role(role).request(
        method, path.format(id=facility["id"]), json=body, headers=headers
    )
    assert response.status_code == expected[role], response.text
    if response.status_code >= 400:
        assert response.headers["content-type"] == "application/problem+json"


def test_a_refused_write_changes_nothing(as_role, client, facility, connection):
    def audit_rows() -> int:
        return connection.execute(text("SELECT count(*) FROM audit_event")).scalar_one()

    outsider = as_role("manager_out")
    before_doc = client.get(f"/v1/facilities/{facility['id']}").json()
    before_audit = audit_rows()
    url = f"/v1/facilities/{facility['id']}"
    assert outsider.patch(url, json={"name": "越权"}, headers={"If-Match": "*"}).status_code == 403
    assert outsider.delete(url).status_code == 403
    assert outsider.post(f"{url}/signs", json=SIGN).status_code == 403
    assert outsider.post(f"{url}/maintenance", json=RECORD).status_code == 403
    assert client.get(url).json() == before_doc
    assert client.get(f"{url}/signage").json()["signs"] == []
    assert audit_rows() == before_audit


def test_scope_by_facility_id_and_by_any_division_level(client_for, create, payload):
    shushan = create()
    baohe = create(
        admin_code="340111",
        location={"type": "Point", "coordinates": [117.30, 31.79]},
        entrances=[],
    )
    by_id = client_for("manager", facility_ids=[shushan["id"]])
    by_city = client_for("manager", admin_codes=["340100"])
    by_province = client_for("manager", admin_codes=["340000"])
    patch = {"json": {"name": "新名"}, "headers": {"If-Match": "*"}}
    assert by_id.patch(f"/v1/facilities/{shushan['id']}", **patch).status_code == 200
    assert by_id.patch(f"/v1/facilities/{baohe['id']}", **patch).status_code == 403
    assert by_city.patch(f"/v1/facilities/{baohe['id']}", **patch).status_code == 200
    assert by_province.patch(f"/v1/facilities/{baohe['id']}", **patch).status_code == 200


def test_a_manager_cannot_create_or_move_a_facility_outside_its_scope(client_for, payload, create):
    shushan_manager = client_for("manager", admin_codes=["340104"])
    elsewhere = payload(
        code="RF-OUT-1",
        admin_code="340111",
        location={"type": "Point", "coordinates": [117.30, 31.79]},
        entrances=[],
    )
    assert shushan_manager.post("/v1/facilities", json=elsewhere).status_code == 403
    mine = create()
    moved = shushan_manager.patch(
        f"/v1/facilities/{mine['id']}",
        json={
            "admin_code": "340111",
            "location": {"type": "Point", "coordinates": [117.30, 31.79]},
            "entrances": [],
        },
        headers={"If-Match": "*"},
    )
    assert moved.status_code == 403
    assert shushan_manager.get(f"/v1/facilities/{mine['id']}").json()["admin_code"] == "340104"
