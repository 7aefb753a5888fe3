import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import sessionmaker

from app.core.geo import CoordSys, position_from_wgs84
from app.main import create_app


def file_report(caller, facility_id: int, **body) -> dict:
    response = caller.post(
        f"/v1/facilities/{facility_id}/reports",
        json={
            "kind": "locked",
            "description": "晚上八点入口锁着",
            "contact": "13900001111",
            **body,
        },
    )
    assert response.status_code == 201, response.text
    return response.json()


def test_the_public_reports_and_follows_up_by_id(public_client, create):
    facility = create()
    report = file_report(public_client, facility["id"])
    assert report["status"] == "open" and report["kind"] == "locked"
    assert "contact" not in report and "description" not in report
    seen = public_client.get(f"/v1/reports/{report['id']}")
    assert seen.status_code == 200
    assert seen.json()["status"] == "open" and "contact" not in seen.json()
    assert public_client.get("/v1/reports/00000000-0000-4000-8000-000000000000").status_code == 404
    assert public_client.get("/v1/reports/1").status_code == 422


def test_a_nul_in_a_report_is_named(public_client, create):
    facility = create()
    response = public_client.post(
        f"/v1/facilities/{facility['id']}/reports",
        json={"kind": "locked", "description": "入口\x00锁着"},
    )
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["body.description"]


def test_managers_in_scope_acknowledge_and_resolve_with_a_note(client_for, public_client, create):
    facility = create()
    report = file_report(public_client, facility["id"])
    url = f"/v1/reports/{report['id']}"
    manager = client_for("manager", admin_codes=["340104"])
    outsider = client_for("manager", admin_codes=["340200"])

    detailed = manager.get(url)
    assert detailed.json()["contact"] == "13900001111"
    assert "contact" not in outsider.get(url).json()
    queue = manager.get("/v1/reports", params={"status": "open"}).json()["items"]
    assert report["id"] in [r["id"] for r in queue]
    assert report["id"] not in [r["id"] for r in outsider.get("/v1/reports").json()["items"]]

    etag = detailed.headers["etag"]
    assert (
        outsider.patch(url, json={"status": "acknowledged"}, headers={"If-Match": etag}).status_code
        == 403
    )
    assert (
        public_client.patch(
            url, json={"status": "acknowledged"}, headers={"If-Match": etag}
        ).status_code
        == 401
    )
    assert manager.patch(url, json={"status": "acknowledged"}).status_code == 428
    acked = manager.patch(url, json={"status": "acknowledged"}, headers={"If-Match": etag})
    assert acked.status_code == 200 and acked.json()["acknowledged_at"]
    assert (
        manager.patch(url, json={"status": "resolved"}, headers={"If-Match": etag}).status_code
        == 412
    )
    etag = acked.headers["etag"]
    no_note = manager.patch(url, json={"status": "resolved"}, headers={"If-Match": etag})
    assert no_note.status_code == 422 and no_note.json()["errors"][0]["field"] == "note"
    resolved = manager.patch(
        url,
        json={"status": "resolved", "note": "已督促物业按开放时间开门"},
        headers={"If-Match": etag},
    )
    assert resolved.status_code == 200
    public = public_client.get(url).json()
    assert (
        public["status"] == "resolved" and public["resolution_note"] == "已督促物业按开放时间开门"
    )
    reopen = manager.patch(
        url, json={"status": "acknowledged"}, headers={"If-Match": resolved.headers["etag"]}
    )
    assert reopen.status_code == 409


def test_reports_refer_to_uploaded_photos(public_client, create):
    facility = create()
    response = public_client.post(
        f"/v1/facilities/{facility['id']}/reports", json={"kind": "damaged_sign", "photo": "b" * 64}
    )
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "photo"
    assert (
        public_client.post("/v1/facilities/987654321/reports", json={"kind": "closed"}).status_code
        == 404
    )


def test_reports_count_in_the_statistics(public_client, create):
    shushan = create()
    baohe = create(
        admin_code="340111",
        location={"type": "Point", "coordinates": [117.30, 31.79]},
        entrances=[],
    )
    file_report(public_client, shushan["id"])
    file_report(public_client, shushan["id"], kind="missing_sign")
    file_report(public_client, baohe["id"])
    stats = public_client.get("/v1/reports/statistics", params={"admin_code": "340100"}).json()
    groups = {g["code"]: g for g in stats["groups"]}
    assert stats["total"] == 3
    assert groups["340104"]["total"] == 2 and groups["340104"]["by_kind"] == {
        "locked": 1,
        "missing_sign": 1,
    }
    assert groups["340111"]["open"] == 1
    province = public_client.get("/v1/reports/statistics").json()
    assert province["groups"][0]["code"] == "340100" and province["groups"][0]["total"] == 3


@pytest.fixture
def strict_app(settings, engine, connection):
    app = create_app(settings.model_copy(update={"report_burst": 2, "report_rate_per_hour": 1}))
    app.state.sessionmaker = sessionmaker(
        connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    return app


def test_reports_are_rate_limited_per_address(strict_app, create):
    facility = create()
    public = TestClient(strict_app)
    url = f"/v1/facilities/{facility['id']}/reports"
    assert [public.post(url, json={"kind": "locked"}).status_code for _ in range(2)] == [201, 201]
    refused = public.post(url, json={"kind": "locked"})
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) > 60
    assert refused.headers["content-type"] == "application/problem+json"
    # Reading is not limited by the report bucket.
    assert public.get(f"/v1/facilities/{facility['id']}").status_code == 200
    assert (
        TestClient(strict_app, client=("198.51.100.7", 1))
        .post(url, json={"kind": "locked"})
        .status_code
        == 201
    )


def test_a_retried_report_is_filed_once(public_client, create, connection):
    from sqlalchemy import text

    facility = create()
    url = f"/v1/facilities/{facility['id']}/reports"
    headers = {"Idempotency-Key": "phone-retry-1"}
    first = public_client.post(url, json={"kind": "locked"}, headers=headers)
    second = public_client.post(url, json={"kind": "locked"}, headers=headers)
    assert first.json()["id"] == second.json()["id"]
    count = connection.execute(
        text("SELECT count(*) FROM problem_report WHERE facility_id = :id"), {"id": facility["id"]}
    ).scalar_one()
    assert count == 1


def test_a_report_points_in_the_reporters_map_system(client, public_client, create):
    """An Amap-based city app sends GCJ-02; the registry keeps WGS 84 and answers each
    caller in the system it asks for."""
    facility = create()
    wgs84 = (117.2290, 31.8270)
    amap = position_from_wgs84(*wgs84, CoordSys.gcj02)
    report = public_client.post(
        f"/v1/facilities/{facility['id']}/reports",
        params={"coordsys": "gcj02"},
        json={
            "kind": "wrong_location",
            "description": "入口实际在翡翠路一侧",
            "location": {"type": "Point", "coordinates": list(amap)},
        },
    )
    assert report.status_code == 201, report.text
    assert "location" not in report.json()  # the public sees the progress only
    report_id = report.json()["id"]
    stored = client.get(f"/v1/reports/{report_id}").json()["location"]["coordinates"]
    assert stored == pytest.approx(wgs84, abs=1e-6)
    shifted = client.get(f"/v1/reports/{report_id}", params={"coordsys": "gcj02"})
    assert shifted.json()["location"]["coordinates"] == pytest.approx(amap, abs=1e-6)
    assert "gcj02" in shifted.headers["content-crs"].lower()
    listed = client.get("/v1/reports", params={"coordsys": "bd09"}).json()["items"]
    baidu = position_from_wgs84(*wgs84, CoordSys.bd09)
    assert listed[0]["location"]["coordinates"] == pytest.approx(baidu, abs=1e-6)
    outside = public_client.post(
        f"/v1/facilities/{facility['id']}/reports",
        json={
            "kind": "wrong_location",
            "location": {"type": "Point", "coordinates": [2.35, 48.85]},
        },
    )
    assert outside.status_code == 422 and "outside China" in outside.text
