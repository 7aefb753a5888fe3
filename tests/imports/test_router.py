"""POST /v1/imports through the real app."""

import csv
import io
import json

import pytest

from app.audit import service as audit
from app.core.errors import BadRequest
from app.imports import fields

CSV = (
    "工程编号,工程名称,地址,行政区划代码,经度,纬度,建设形式,战时功能,使用状态\n"
    "RF-API-001,天鹅湖人防地下车库,合肥市蜀山区怀宁路1号,340104,117.2281,31.8262,结建,人员掩蔽工程,在用\n"
    "RF-API-002,翡翠人防地下车库,合肥市蜀山区翡翠路2号,340104,117.2290,31.8270,结建,人员掩蔽工程,在用\n"
)


def test_import_job_reports_progress_outcome_and_audit(client, session):
    body = CSV.encode("gbk")
    created = client.post("/v1/imports", params={"filename": "台账.csv"}, content=body)
    assert created.status_code == 202, created.text
    job = client.get(f"/v1/imports/{created.json()['id']}").json()
    assert job["status"] == "succeeded", job
    assert job["summary"]["inserted"] == 2 and job["progress"] == 1.0
    assert job["options"]["file_format"] == "csv"

    again = client.post("/v1/imports", params={"filename": "台账.csv"}, content=body).json()
    job = client.get(f"/v1/imports/{again['id']}").json()
    assert (job["summary"]["inserted"], job["summary"]["updated"], job["summary"]["unchanged"]) == (
        0,
        0,
        2,
    )
    events = audit.for_entity(session, "import", job["summary"]["sha256"])
    assert [(e.changes["inserted"], e.changes["unchanged"]) for e in events] == [(2, 0), (0, 2)]


def test_rejected_import_job_serves_its_error_report(client):
    bad = CSV.replace("31.8270", "48.85").replace("340104,117.2290", "999999,2.35")
    created = client.post("/v1/imports", params={"filename": "bad.csv"}, content=bad.encode())
    job = client.get(
        created.headers.get("location") or f"/v1/imports/{created.json()['id']}"
    ).json()
    assert job["status"] == "rejected" and job["error_count"] == 1
    report = client.get(f"/v1/imports/{job['id']}/errors")
    assert report.status_code == 200 and report.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(report.text)))
    assert rows[0] == ["row", "field", "value", "reason"]
    # The file's own headers name the field.
    assert rows[1] == ["3", "经度/纬度", "2.35, 48.85", "position [2.35, 48.85] lies outside China"]
    chinese = client.get(f"/v1/imports/{job['id']}/errors", headers={"Accept-Language": "zh"})
    assert chinese.headers["content-language"] == "zh"
    assert list(csv.reader(io.StringIO(chinese.text))) == [
        ["行", "列", "值", "原因"],
        ["3", "经度/纬度", "2.35, 48.85", "位置 [2.35, 48.85] 在中国境外"],
    ]
    assert client.get("/v1/facilities", params={"q": "翡翠人防"}).json()["items"] == []


def test_import_job_takes_a_mapping_as_the_cli_does(client):
    renamed = CSV.replace("工程编号", "登记号").replace("使用状态\n", "使用状态,备注\n")
    renamed = renamed.replace("在用\n", "在用,地下二层\n")
    without = client.post("/v1/imports", params={"filename": "f.csv"}, content=renamed.encode())
    job = client.get(f"/v1/imports/{without.json()['id']}").json()
    assert job["status"] == "rejected" and "missing required column: code" in job["problem"]

    mapping = {"登记号": "code", "备注": ""}
    params = {"filename": "f.csv", "mapping": json.dumps(mapping, ensure_ascii=False)}
    created = client.post("/v1/imports", params=params, content=renamed.encode())
    assert created.status_code == 202, created.text
    job = client.get(f"/v1/imports/{created.json()['id']}").json()
    assert job["status"] == "succeeded" and job["summary"]["inserted"] == 2, job["problem"]
    assert job["options"]["mapping"] == mapping


@pytest.mark.parametrize(
    ("mapping", "detail"),
    [
        ("{登记号: code}", "mapping: Expecting property name enclosed in double quotes"),
        ("[" * 5000, "mapping: JSON nested deeper than 64 levels"),
        ('["code"]', "mapping: must be an object of header -> field name"),
        ('{"登记号": 1}', "mapping: must be an object of header -> field name"),
        (
            '{"登记号": "codes"}',
            "mapping: '登记号' maps to 'codes', which is not a field (fields: ",
        ),
        (
            '{"登记\\u0000号": "code"}',
            "mapping: '登记\\x00号' contains a NUL character (\\u0000), which text cannot hold",
        ),
    ],
)
def test_import_mapping_errors_are_the_clis(client, tmp_path, mapping, detail):
    response = client.post(
        "/v1/imports", params={"filename": "f.csv", "mapping": mapping}, content=CSV.encode()
    )
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["detail"].startswith(detail)
    file = tmp_path / "mapping.json"
    file.write_text(mapping, encoding="utf-8")
    with pytest.raises(BadRequest) as cli:
        fields.read_mapping(file)
    cli_detail = response.json()["detail"].replace("mapping", f"mapping file {file}", 1)
    assert cli.value.detail == cli_detail


def test_managers_import_within_their_scope(client_for):
    hefei = client_for("manager", admin_codes=["340100"])
    created = hefei.post("/v1/imports", params={"filename": "f.csv"}, content=CSV.encode())
    assert created.status_code == 202, created.text
    job = hefei.get(f"/v1/imports/{created.json()['id']}").json()
    assert job["status"] == "succeeded" and job["summary"]["inserted"] == 2, job["problem"]
    # Wuhu's manager may neither change Hefei's works nor add works in Hefei; nor read
    # another key's job.
    wuhu = client_for("manager", admin_codes=["340200"])
    changed = CSV.replace("天鹅湖", "白鹭洲")
    refused = wuhu.post("/v1/imports", params={"filename": "f.csv"}, content=changed.encode())
    job = wuhu.get(f"/v1/imports/{refused.json()['id']}").json()
    assert job["status"] == "rejected" and job["error_count"] == 2, job
    report = wuhu.get(f"/v1/imports/{job['id']}/errors").text
    assert "RF-API-001,lies outside this key's scope" in report
    assert wuhu.get(f"/v1/imports/{created.json()['id']}").status_code == 404
    assert client_for("admin").get(f"/v1/imports/{created.json()['id']}").status_code == 200
    assert (
        client_for("gis")
        .post("/v1/imports", params={"filename": "f.csv"}, content=CSV.encode())
        .status_code
        == 403
    )


def test_a_row_outside_the_scope_shows_nothing_of_the_stored_work(client_for, create):
    """A file that names another division's command post by its code, with only the
    columns that make the rules read the stored values (a standalone gallery, its
    capacity), learns no more than that the code lies outside the key's scope."""
    post = create(
        wartime_function="command_post",
        wartime_subtype=None,
        construction_form="standalone",
        standalone_type="gallery",
    )
    wuhu = client_for("manager", admin_codes=["340200"])
    probe = f"工程编号,建设形式,掩蔽面积\n{post['code']},结建,1\n"
    created = wuhu.post("/v1/imports", params={"filename": "f.csv"}, content=probe.encode())
    job = wuhu.get(f"/v1/imports/{created.json()['id']}").json()
    assert job["status"] == "rejected" and job["error_count"] == 1, job
    lines = wuhu.get(f"/v1/imports/{job['id']}/errors").text.splitlines()
    assert lines[1:] == [f"2,工程编号,{post['code']},lies outside this key's scope"]


def test_import_errors_and_auth(client_for):
    assert client_for(None).get("/v1/imports/1").status_code == 401
    assert client_for("admin").get("/v1/imports/999999").status_code == 404
    empty = client_for("admin").post("/v1/imports", params={"filename": "f.csv"}, content=b"")
    assert empty.status_code == 400
    unknown = client_for("admin").post("/v1/imports", params={"filename": "f.doc"}, content=b"x")
    assert unknown.status_code == 400 and "unknown file type" in json.loads(unknown.text)["detail"]


@pytest.mark.parametrize(
    ("encoding", "detail"),
    [
        ("zlib_codec", "'zlib_codec' is not a text encoding (e.g. utf-8, gbk, gb18030)"),
        ("hex", "'hex' is not a text encoding (e.g. utf-8, gbk, gb18030)"),
        ("rot13", "'rot13' is not a text encoding (e.g. utf-8, gbk, gb18030)"),
        ("idna", "'idna' is not a text encoding (e.g. utf-8, gbk, gb18030)"),
        ("klingon", "unknown encoding 'klingon'"),
    ],
)
@pytest.mark.parametrize("filename", ["f.csv", "f.geojson"])
def test_an_encoding_no_text_is_in_is_a_400(client, encoding, detail, filename):
    """Python's codecs also name transforms, which failed the job with a LookupError."""
    response = client.post(
        "/v1/imports", params={"filename": filename, "encoding": encoding}, content=CSV.encode()
    )
    assert response.status_code == 400, response.text
    assert response.json()["detail"] == detail
    assert (
        client.post(
            "/v1/imports", params={"filename": filename, "encoding": "GB18030"}, content=b"x"
        ).status_code
        == 202
    )


def test_a_jobs_messages_name_the_file_as_uploaded(client, settings):
    """Not the name, nor the folder, it waits under on the server."""
    created = client.post("/v1/imports", params={"filename": "台账.xlsx"}, content=b"not a zip")
    job = client.get(f"/v1/imports/{created.json()['id']}").json()
    assert job["status"] == "rejected", job
    assert job["problem"].startswith("台账.xlsx: not a readable XLSX workbook"), job["problem"]
    assert "rf-import-" not in job["problem"] and "/" not in job["problem"]
    assert job["summary"]["file"] == "台账.xlsx"
    created = client.post(
        "/v1/imports",
        params={"filename": "台账.csv", "encoding": "utf-7"},
        content=CSV.encode("utf-8"),
    )
    job = client.get(f"/v1/imports/{created.json()['id']}").json()
    report = client.get(f"/v1/imports/{job['id']}/errors").text
    assert "台账.csv: row" in job["problem"] and "台账.csv: row" in report, (job, report)
    assert "rf-import-" not in report
