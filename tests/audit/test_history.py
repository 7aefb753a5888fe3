import time
from datetime import UTC, datetime

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError


def audit_rows(connection, facility_id: int) -> list:
    return connection.execute(
        text(
            "SELECT action, entity, actor, changes FROM audit_event WHERE facility_id = :id ORDER BY id"
        ),
        {"id": facility_id},
    ).all()


def test_each_write_leaves_exactly_one_audit_record(client, create, connection):
    facility = create()
    url = f"/v1/facilities/{facility['id']}"
    assert [r.action for r in audit_rows(connection, facility["id"])] == ["create"]

    client.patch(url, json={"name": "新名称"}, headers={"If-Match": "*"})
    client.post(f"{url}/verification", json={"verified_by": "李明"})
    client.post(f"{url}/signs", json={"kind": "direction", "status": "planned"})
    client.post(f"{url}/reports", json={"kind": "locked", "contact": "13900000000"})
    client.delete(url)
    rows = audit_rows(connection, facility["id"])
    assert [(r.entity, r.action) for r in rows] == [
        ("facility", "create"),
        ("facility", "update"),
        ("facility", "verify"),
        ("sign", "create"),
        ("problem_report", "create"),
        ("facility", "delete"),
    ]
    update = rows[1]
    assert update.changes == {"name": {"old": facility["name"], "new": "新名称"}}
    assert update.actor.startswith("key:") and update.actor.endswith("test admin")
    assert set(rows[2].changes) >= {"verified_by", "verified_at"}
    # A reporter's contact is personal data and stays out of history.
    assert "13900000000" not in str(rows[4].changes)


def test_a_refused_write_leaves_no_audit_record(client, create, connection):
    facility = create()
    url = f"/v1/facilities/{facility['id']}"
    assert (
        client.patch(url, json={"capacity_persons": 10**6}, headers={"If-Match": "*"}).status_code
        == 422
    )
    assert len(audit_rows(connection, facility["id"])) == 1


def test_the_audit_trail_is_append_only(create, connection):
    create()
    for statement in ("UPDATE audit_event SET actor = 'forged'", "DELETE FROM audit_event"):
        savepoint = connection.begin_nested()
        with pytest.raises(DBAPIError, match="append-only"):
            connection.execute(text(statement))
        savepoint.rollback()


def test_history_endpoint_shows_the_writes(client, create, client_for):
    facility = create()
    url = f"/v1/facilities/{facility['id']}"
    client.patch(url, json={"keyholder_phone": "13800000001"}, headers={"If-Match": "*"})
    history = client.get(f"{url}/history").json()
    assert [e["action"] for e in history["items"]] == ["update", "create"]
    assert history["items"][0]["changes"]["keyholder_phone"] == {
        "old": "13905510001",
        "new": "13800000001",
    }
    page = client.get(f"{url}/history", params={"limit": 1}).json()
    assert len(page["items"]) == 1 and page["next_cursor"]
    rest = client.get(f"{url}/history", params={"limit": 1, "cursor": page["next_cursor"]}).json()
    assert rest["items"][0]["action"] == "create"
    assert client_for(None).get(f"{url}/history").status_code == 401
    assert client_for("manager", admin_codes=["340200"]).get(f"{url}/history").status_code == 403


def test_as_of_returns_the_facility_as_it_was(client, client_for, create):
    def now() -> str:
        time.sleep(0.002)
        stamp = datetime.now(UTC).isoformat()
        time.sleep(0.002)
        return stamp

    before_creation = now()
    facility = create()
    url = f"/v1/facilities/{facility['id']}"
    after_creation = now()
    client.patch(
        url,
        json={"name": "第二个名字", "keyholder_phone": "13800000002"},
        headers={"If-Match": "*"},
    )
    after_rename = now()
    client.patch(url, json={"name": "第三个名字"}, headers={"If-Match": "*"})
    after_second = now()
    client.delete(url)
    after_delete = now()

    def at(stamp: str, caller=client):
        return caller.get(url, params={"as_of": stamp})

    assert at(before_creation).status_code == 404
    first = at(after_creation).json()
    assert first["name"] == facility["name"] and first["keyholder_phone"] == "13905510001"
    assert first == {**facility, "updated_at": first["updated_at"]}
    assert at(after_rename).json()["name"] == "第二个名字"
    assert at(after_second).json()["name"] == "第三个名字"
    assert at(after_delete).status_code == 410
    feature = client.get(url, params={"as_of": after_rename, "f": "geojson"}).json()
    assert feature["type"] == "Feature" and feature["properties"]["name"] == "第二个名字"
    assert feature["geometry"] == facility["location"]
    # The past is as restricted as the present.
    public = at(after_rename, client_for(None)).json()
    assert public["name"] == "第二个名字" and "keyholder_phone" not in public
    assert at("2024-01-01T00:00:00").status_code == 422  # a time without a zone is ambiguous


def test_other_writes_are_audited_once_each(client, public_client, create, connection):
    facility = create()
    url = f"/v1/facilities/{facility['id']}"
    sign = client.post(f"{url}/signs", json={"kind": "direction", "status": "planned"}).json()
    client.patch(
        f"{url}/signs/{sign['id']}",
        json={"status": "installed", "installed_on": "2022-03-01"},
        headers={"If-Match": '"1"'},
    )
    client.post(
        f"{url}/maintenance",
        json={
            "kind": "inspection",
            "performed_on": "2026-01-05",
            "performed_by": "张伟",
            "checks": [{"item_code": "civil.structure", "result": "ok"}],
        },
    )
    report = public_client.post(f"{url}/reports", json={"kind": "closed"}).json()
    client.patch(
        f"/v1/reports/{report['id']}", json={"status": "acknowledged"}, headers={"If-Match": '"1"'}
    )
    rows = audit_rows(connection, facility["id"])
    assert [(r.entity, r.action) for r in rows] == [
        ("facility", "create"),
        ("sign", "create"),
        ("sign", "update"),
        ("maintenance_record", "create"),
        ("problem_report", "create"),
        ("problem_report", "acknowledged"),
    ]
    assert rows[2].changes["status"] == {"old": "planned", "new": "installed"}
    assert rows[4].actor is None  # the anonymous public

    key = client.post("/v1/admin/keys", json={"name": "k", "role": "gis"}).json()
    client.delete(f"/v1/admin/keys/{key['id']}")
    key_rows = (
        connection.execute(
            text(
                "SELECT action FROM audit_event WHERE entity = 'api_key' AND entity_id = :id ORDER BY id"
            ),
            {"id": str(key["id"])},
        )
        .scalars()
        .all()
    )
    assert key_rows == ["create", "revoke"]
