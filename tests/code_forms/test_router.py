"""Registry code forms per division: Hefei's 肥人防2019-012 is a code there and nowhere
else, through the API and the importer alike (facilities.rules.REGISTRY_CODE)."""

import pytest
from sqlalchemy import text

from app.imports import report as reporting
from tests.conftest import HEFEI_CODE_FORM
from tests.imports.test_service import report, run, write

CODE = "肥人防2019-012"
NATIONAL = r"^[A-Za-z0-9][A-Za-z0-9_-]{2,39}$"
NANJING = {
    "admin_code": "320102",
    "address": "南京市玄武区中山路1号",
    "location": {"type": "Point", "coordinates": [118.7969, 32.0603]},
}


@pytest.fixture
def jiangsu(connection):
    connection.execute(
        text(
            "INSERT INTO division (code, name, level, parent_code, valid_from) VALUES "
            "('320000', '江苏省', 'province', NULL, '2011-01-01'), "
            "('320100', '南京市', 'city', '320000', '2011-01-01'), "
            "('320102', '玄武区', 'district', '320100', '2011-01-01')"
        )
    )


def test_a_hefei_work_takes_hefei_s_form_and_a_nanjing_work_does_not(
    client, payload, hefei_code_form, jiangsu
):
    hefei = client.post("/v1/facilities", json=payload(code=CODE))
    assert hefei.status_code == 201, hefei.text
    nanjing = client.post("/v1/facilities", json=payload(code="肥人防2019-013", **NANJING))
    assert nanjing.status_code == 422
    problem = nanjing.json()
    assert problem["errors"][0]["field"] == "code"
    assert problem["errors"][0]["message"] == (
        f"肥人防2019-013 is not in the national registry code form {NATIONAL} (3 to 40 "
        'letters, digits, "-" or "_"), and 玄武区 (320102) has no local form'
    )
    chinese = client.post(
        "/v1/facilities",
        json=payload(code="肥人防2019-013", **NANJING),
        headers={"Accept-Language": "zh"},
    )
    assert NATIONAL in chinese.json()["detail"] and "工程编号" in chinese.json()["detail"]
    # In Hefei, a code of neither form names both.
    wrong = client.post("/v1/facilities", json=payload(code="肥人防19-12"))
    assert wrong.status_code == 422
    assert wrong.json()["errors"][0]["message"] == (
        f"肥人防19-12 matches neither the registry code form of 合肥市 (340100), "
        f"{HEFEI_CODE_FORM['pattern']} (e.g. 肥人防2019-012), nor the national form {NATIONAL}"
    )
    # The national form is valid everywhere.
    assert (
        client.post("/v1/facilities", json=payload(code="NJ-2019-013", **NANJING)).status_code
        == 201
    )


def test_moving_a_work_checks_its_code_again(client, payload, hefei_code_form, jiangsu):
    created = client.post("/v1/facilities", json=payload(code=CODE)).json()
    moved = client.patch(f"/v1/facilities/{created['id']}", json=NANJING, headers={"If-Match": "*"})
    assert moved.status_code == 422, moved.text
    assert moved.json()["errors"][0]["field"] == "code"
    renamed = client.patch(
        f"/v1/facilities/{created['id']}", json={"name": "天鹅湖车库"}, headers={"If-Match": "*"}
    )
    assert renamed.status_code == 200, renamed.text


def test_codes_issued_stay_valid_when_the_form_goes(client, payload, hefei_code_form):
    created = client.post("/v1/facilities", json=payload(code=CODE)).json()
    assert client.delete("/v1/code-forms/340100").status_code == 204
    edited = client.patch(
        f"/v1/facilities/{created['id']}", json={"name": "天鹅湖车库"}, headers={"If-Match": "*"}
    )
    assert edited.status_code == 200, edited.text
    refused = client.post("/v1/facilities", json=payload(code="肥人防2019-014"))
    assert refused.status_code == 422
    assert "蜀山区 (340104) has no local form" in refused.json()["errors"][0]["message"]


def test_admins_declare_forms(client, client_for, public_client, payload, connection):
    assert public_client.get("/v1/code-forms").json() == {"national": NATIONAL, "forms": []}
    manager = client_for("manager", admin_codes=["340100"])
    assert manager.put("/v1/code-forms/340100", json=HEFEI_CODE_FORM).status_code == 403
    put = client.put("/v1/code-forms/340100", json=HEFEI_CODE_FORM)
    assert put.status_code == 201, put.text
    assert client.put("/v1/code-forms/340100", json=HEFEI_CODE_FORM).status_code == 200
    forms = public_client.get("/v1/code-forms").json()["forms"]
    assert forms == [{"admin_code": "340100", "division": "合肥市", **HEFEI_CODE_FORM}]
    assert client.post("/v1/facilities", json=payload(code=CODE)).status_code == 201
    actions = connection.execute(
        text("SELECT action FROM audit_event WHERE entity = 'registry_code_form' ORDER BY id")
    ).scalars()
    assert list(actions) == ["create", "update"]


@pytest.mark.parametrize(
    ("path", "body", "status", "field", "message"),
    [
        (
            "340100",
            {**HEFEI_CODE_FORM, "pattern": "^肥人防([0-9]$"},
            422,
            "pattern",
            "is not a regular expression",
        ),
        ("340100", {**HEFEI_CODE_FORM, "pattern": "肥人防[0-9]+"}, 422, "pattern", "pattern"),
        (
            "340100",
            {**HEFEI_CODE_FORM, "example": "皖人防2019-012"},
            422,
            "example",
            "does not match the pattern",
        ),
        (
            "999999",
            HEFEI_CODE_FORM,
            422,
            "admin_code",
            "999999 is not a known GB/T 2260 division code",
        ),
        ("34010", HEFEI_CODE_FORM, 422, "admin_code", "pattern"),
        ("340100", {**HEFEI_CODE_FORM, "pattern": "^" + "[0-9]" * 60 + "$"}, 422, "pattern", "200"),
    ],
)
def test_bad_forms_are_named(client, path, body, status, field, message):
    response = client.put(f"/v1/code-forms/{path}", json=body)
    assert response.status_code == status, response.text
    errors = response.json()["errors"]
    assert any(field in e["field"] and message in e["message"] for e in errors), errors
    assert client.get("/v1/code-forms").json()["forms"] == []


def test_deleting_a_form_that_is_not_there(client):
    response = client.delete("/v1/code-forms/340200")
    assert response.status_code == 404
    assert response.json()["detail"] == "division 340200 has no registry code form"


HEADER = "工程编号,工程名称,地址,行政区划代码,经度,纬度,建设形式,战时功能,使用状态\n"


def test_imports_name_the_row_and_the_expected_form(connection, tmp_path, hefei_code_form, jiangsu):
    content = (
        HEADER
        + f"{CODE},天鹅湖人防工程,合肥市蜀山区怀宁路1号,340104,117.2281,31.8262,结建,人员掩蔽工程,在用\n"
        + "肥人防2019-013,玄武人防工程,南京市玄武区中山路1号,320102,118.7969,32.0603,结建,人员掩蔽工程,在用\n"
    )
    result = run(connection, write(tmp_path, "台账.csv", content))
    assert (result.errors, result.inserted) == (1, 0)
    expected = (
        f"肥人防2019-013 is not in the national registry code form {NATIONAL} (3 to 40 "
        'letters, digits, "-" or "_"), and 玄武区 (320102) has no local form'
    )
    assert report(connection) == [(3, "code", "肥人防2019-013", expected)]
    lines = list(reporting.lines(report(connection), columns=result.columns, language="zh"))
    assert lines[0] == ("行", "列", "值", "原因")
    row, field, value, reason = lines[1]
    assert (row, field, value) == (3, "工程编号", "肥人防2019-013")
    assert NATIONAL in reason and "玄武区 (320102)" in reason and "本地" in reason
    partial = run(connection, write(tmp_path, "台账.csv", content), partial=True)
    assert (partial.inserted, partial.rejected) == (1, 1)
