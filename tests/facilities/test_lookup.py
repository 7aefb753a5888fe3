"""Finding a facility by the registry code that plaques, QR codes and ledgers carry."""

import io
from urllib.parse import unquote

import segno
from PIL import Image

CODE = "肥人防2019-012"


def test_by_code_and_the_code_filter(client, public_client, create):
    created = create()
    response = public_client.get(f"/v1/facilities/by-code/{created['code']}")
    assert response.status_code == 200, response.text
    assert response.json()["id"] == created["id"]
    geo = public_client.get(f"/v1/facilities/by-code/{created['code']}", params={"f": "geojson"})
    assert geo.json()["type"] == "Feature"
    page = client.get("/v1/facilities", params={"code": created["code"]}).json()
    assert [i["id"] for i in page["items"]] == [created["id"]]
    assert client.get("/v1/facilities", params={"code": "RF-NOPE-1"}).json()["items"] == []
    missing = public_client.get("/v1/facilities/by-code/RF-NOPE-1")
    assert missing.status_code == 404
    assert missing.json()["detail"] == "no facility has the registry code RF-NOPE-1"
    chinese = public_client.get(
        "/v1/facilities/by-code/RF-NOPE-1", headers={"Accept-Language": "zh"}
    )
    assert chinese.json()["detail"] == "没有登记编号为 RF-NOPE-1 的设施"


def test_restricted_and_deleted_works_by_code(client, public_client, create):
    hidden = create(wartime_function="command_post", wartime_subtype=None)
    assert client.get(f"/v1/facilities/by-code/{hidden['code']}").status_code == 200
    assert public_client.get(f"/v1/facilities/by-code/{hidden['code']}").status_code == 404
    assert public_client.get(f"/v1/facilities/{hidden['id']}/qr").status_code == 404
    gone = create()
    client.delete(f"/v1/facilities/{gone['id']}", headers={"If-Match": "*"})
    assert public_client.get(f"/v1/facilities/by-code/{gone['code']}").status_code == 410
    assert public_client.get(f"/v1/facilities/{gone['id']}/qr").status_code == 410


def modules(png: bytes, border: int = 4) -> list[list[bool]]:
    image = Image.open(io.BytesIO(png)).convert("L")
    size = image.width - 2 * border
    return [
        [image.getpixel((x + border, y + border)) < 128 for x in range(size)] for y in range(size)
    ]


def test_qr_codes_encode_the_public_page(public_client, create):
    created = create()
    response = public_client.get(
        f"/v1/facilities/{created['id']}/qr", params={"format": "png", "scale": 1}
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/png"
    url = unquote(response.headers["x-qr-content"])
    assert url == f"http://testserver/ogc/collections/facilities/items/{created['id']}?f=html"
    expected = [[bool(m) for m in row] for row in segno.make(url, error="m", micro=False).matrix]
    assert modules(response.content) == expected
    svg = public_client.get(f"/v1/facilities/{created['id']}/qr")
    assert svg.headers["content-type"].startswith("image/svg+xml")
    assert svg.content.lstrip().startswith(b"<?xml") and b"<svg" in svg.content


def test_qr_code_of_the_report_form(app, public_client, create):
    created = create()
    no_form = public_client.get(f"/v1/facilities/{created['id']}/qr", params={"target": "report"})
    assert no_form.status_code == 422 and "RF_QR_REPORT_URL" in no_form.json()["detail"]
    assert no_form.json()["errors"][0]["field"] == "query.target"
    chinese = public_client.get(
        f"/v1/facilities/{created['id']}/qr",
        params={"target": "report"},
        headers={"Accept-Language": "zh"},
    ).json()
    # A query parameter has no JSON pointer: the detail names it as the caller wrote it.
    assert chinese["detail"] == "query.target：未配置问题报告表单（RF_QR_REPORT_URL）"
    assert "pointer" not in chinese["errors"][0]
    settings = app.state.settings
    app.state.settings = settings.model_copy(
        update={
            "public_url": "https://rf.hefei.example.cn/",
            "qr_report_url": "{base}/report?facility={id}&code={code}",
        }
    )
    try:
        response = public_client.get(
            f"/v1/facilities/{created['id']}/qr", params={"target": "report"}
        )
    finally:
        app.state.settings = settings
    assert response.status_code == 200
    assert unquote(response.headers["x-qr-content"]) == (
        f"https://rf.hefei.example.cn/report?facility={created['id']}&code={created['code']}"
    )


def test_bad_qr_parameters_are_named(public_client, create):
    created = create()
    for params, name in [({"format": "gif"}, "format"), ({"scale": 0}, "scale")]:
        response = public_client.get(f"/v1/facilities/{created['id']}/qr", params=params)
        assert response.status_code == 422 and name in response.json()["detail"]


def test_a_local_registry_code_as_plaques_carry_it(client, public_client, payload, hefei_code_form):
    response = client.post("/v1/facilities", json=payload(code=CODE))
    assert response.status_code == 201, response.text
    found = public_client.get(f"/v1/facilities/by-code/{CODE}")
    assert found.status_code == 200 and found.json()["code"] == CODE
    listed = client.get("/v1/facilities", params={"code": CODE}).json()["items"]
    assert [i["code"] for i in listed] == [CODE]
    bad = client.post("/v1/facilities", json=payload(code="-肥人防"))
    assert bad.status_code == 422


def test_a_host_too_long_for_a_qr_code_is_a_400(public_client, create):
    created = create()
    host = "a" * 3000 + ".example.cn"
    response = public_client.get(f"/v1/facilities/{created['id']}/qr", headers={"Host": host})
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert "more than a QR code holds" in response.json()["detail"]
    chinese = public_client.get(
        f"/v1/facilities/{created['id']}/qr",
        headers={"Host": host, "Accept-Language": "zh"},
    )
    assert chinese.json()["detail"].startswith("要编码的地址长")
