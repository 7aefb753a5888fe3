"""Restricted works (command posts by default) do not exist for callers who may not see
them; wartime entrances are shown to restricted readers only."""

from datetime import UTC, datetime

import pytest

COMMAND_POST = {"wartime_function": "command_post", "wartime_subtype": None}
NOWHERE = 9_000_000_000_000_000_000
WARTIME_ENTRANCE = {
    "kind": "wartime",
    "name": "战时3号口",
    "location": {"type": "Point", "coordinates": [117.2275, 31.8258]},
}


def caller(client_for, who: str, facility_id: int):
    """A client for `who`: a role, or a manager or operator in or out of the work's scope."""
    scopes = {
        "manager_in": ("manager", {"admin_codes": ["340104"]}),
        "manager_out": ("manager", {"admin_codes": ["340111"]}),
        "operator_in": ("operator", {"facility_ids": [facility_id]}),
        "operator_out": ("operator", {"facility_ids": [facility_id + 1]}),
        "anonymous": (None, {}),
    }
    role, scope = scopes.get(who, (who, {}))
    return client_for(role, **scope)


def test_visibility_defaults_by_wartime_function(create):
    assert create(**COMMAND_POST)["visibility"] == "restricted"
    assert create()["visibility"] == "public"
    for function, subtype in (("medical_aid", "aid_station"), ("supporting", "alarm_station")):
        work = create(wartime_function=function, wartime_subtype=subtype)
        assert work["visibility"] == "public"


def test_only_an_admin_creates_a_work_against_its_default(client, client_for, payload):
    assert client.post(
        "/v1/facilities", json=payload(code="RF-VIS-A1", visibility="public", **COMMAND_POST)
    ).json()["visibility"] == ("public")
    manager = client_for("manager", admin_codes=["340104"])
    refused = manager.post(
        "/v1/facilities", json=payload(code="RF-VIS-M1", visibility="public", **COMMAND_POST)
    )
    assert refused.status_code == 403
    assert refused.headers["content-type"] == "application/problem+json"
    assert "only an admin" in refused.json()["detail"]
    refused = manager.post(
        "/v1/facilities", json=payload(code="RF-VIS-M2", visibility="restricted")
    )
    assert refused.status_code == 403
    same = manager.post(
        "/v1/facilities", json=payload(code="RF-VIS-M3", visibility="restricted", **COMMAND_POST)
    )
    assert same.status_code == 201 and same.json()["visibility"] == "restricted"
    bad = client.post("/v1/facilities", json=payload(code="RF-VIS-B1", visibility="secret"))
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "body.visibility"


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("anonymous", 404),
        ("operator_out", 404),
        ("manager_out", 404),
        ("admin", 200),
        ("gis", 200),
        ("manager_in", 200),
        ("operator_in", 200),
    ],
)
def test_a_restricted_work_is_found_only_by_those_who_may_see_it(client_for, create, who, status):
    work = create(**COMMAND_POST)
    client = caller(client_for, who, work["id"])
    url = f"/v1/facilities/{work['id']}"
    for params in ({}, {"f": "geojson"}, {"as_of": datetime.now(UTC).isoformat()}):
        response = client.get(url, params=params)
        assert response.status_code == status, (params, response.text)
    listed = client.get("/v1/facilities", params={"admin_code": "340104", "limit": 1000})
    assert (work["id"] in [item["id"] for item in listed.json()["items"]]) == (status == 200)
    if status == 404:
        # The same answer as for an id that never existed: the id tells nothing.
        missing = client.get(f"/v1/facilities/{NOWHERE}")
        found = client.get(url).text.replace(str(work["id"]), str(NOWHERE))
        assert found == missing.text


def test_what_hangs_off_a_restricted_work_is_missing_too(client, client_for, create):
    work = create(**COMMAND_POST)
    base = f"/v1/facilities/{work['id']}"
    use = client.post(
        f"{base}/uses", json={"type": "parking", "attributes": {"total_spaces": 40}}
    ).json()
    report = client.post(f"{base}/reports", json={"kind": "locked"}).json()
    anonymous = client_for(None)
    outsider = client_for("manager", admin_codes=["340111"])
    for url in (
        f"{base}/uses",
        f"{base}/uses/{use['id']}",
        f"{base}/parking/occupancy",
        f"{base}/parking/occupancy/history",
        f"{base}/signage",
        f"/v1/reports/{report['id']}",
    ):
        assert anonymous.get(url).status_code == 404, url
        assert client.get(url).status_code == 200, url
    assert anonymous.post(f"{base}/reports", json={"kind": "locked"}).status_code == 404
    # A manager outside the scope gets 404 where a public work would give it 403.
    for url in (f"{base}/history", f"{base}/maintenance", f"{base}/findings"):
        assert outsider.get(url).status_code == 404, url
    patched = outsider.patch(base, json={"name": "x"}, headers={"If-Match": "*"})
    assert patched.status_code == 404
    public = create()
    assert outsider.get(f"/v1/facilities/{public['id']}/history").status_code == 403


def test_an_admin_changes_visibility_with_a_reason_in_the_history(client, client_for, create):
    work = create()
    url = f"/v1/facilities/{work['id']}"
    anonymous = client_for(None)
    assert anonymous.get(url).status_code == 200
    etag = client.get(url).headers["etag"]

    change = {"visibility": "restricted", "reason": "划为指挥所配套工程"}
    changed = client.put(f"{url}/visibility", json=change, headers={"If-Match": etag})
    assert changed.status_code == 200, changed.text
    assert changed.json()["visibility"] == "restricted"
    assert changed.headers["etag"] != etag
    assert anonymous.get(url).status_code == 404
    event = client.get(f"{url}/history").json()["items"][0]
    assert event["action"] == "visibility"
    assert event["reason"] == "划为指挥所配套工程"
    assert event["changes"] == {"visibility": {"old": "public", "new": "restricted"}}
    assert event["actor"].startswith("key:")

    # The same visibility again changes nothing and records nothing.
    again = client.put(f"{url}/visibility", json=change)
    assert again.status_code == 200 and again.headers["etag"] == changed.headers["etag"]
    assert len(client.get(f"{url}/history").json()["items"]) == 2  # create, visibility

    stale = client.put(
        f"{url}/visibility", json={**change, "visibility": "public"}, headers={"If-Match": etag}
    )
    assert stale.status_code == 412
    back = client.put(f"{url}/visibility", json={"visibility": "public", "reason": "解除限制"})
    assert back.status_code == 200 and anonymous.get(url).status_code == 200


def test_visibility_changes_need_an_admin_a_reason_and_their_own_route(client, client_for, create):
    work = create()
    url = f"/v1/facilities/{work['id']}"
    change = {"visibility": "restricted", "reason": "测试"}
    assert client_for(None).put(f"{url}/visibility", json=change).status_code == 401
    manager = client_for("manager", admin_codes=["340104"])
    assert manager.put(f"{url}/visibility", json=change).status_code == 403
    for body, field in (
        ({"visibility": "restricted"}, "body.reason"),
        ({"visibility": "restricted", "reason": "  "}, "body.reason"),
        ({"visibility": "hidden", "reason": "测试"}, "body.visibility"),
    ):
        refused = client.put(f"{url}/visibility", json=body)
        assert refused.status_code == 422
        assert refused.json()["errors"][0]["field"] == field
    patched = client.patch(url, json={"visibility": "restricted"}, headers={"If-Match": "*"})
    assert patched.status_code == 422
    missing = client.put(f"/v1/facilities/{NOWHERE}/visibility", json=change)
    assert missing.status_code == 404
    assert client.delete(url).status_code == 204
    assert client.put(f"{url}/visibility", json=change).status_code == 410


def test_the_list_filters_by_visibility(client, client_for, create):
    hidden, shown = create(**COMMAND_POST), create()

    def ids(caller, **params) -> set[int]:
        page = caller.get("/v1/facilities", params={"limit": 1000, **params}).json()["items"]
        return {item["id"] for item in page} & {hidden["id"], shown["id"]}

    assert ids(client, visibility="restricted") == {hidden["id"]}
    assert ids(client, visibility="public") == {shown["id"]}
    anonymous = client_for(None)
    assert ids(anonymous) == {shown["id"]}
    assert ids(anonymous, visibility="restricted") == set()


def test_wartime_entrances_are_shown_to_restricted_readers_only(
    client, client_for, create, payload
):
    work = create(entrances=[*payload()["entrances"], WARTIME_ENTRANCE])
    url = f"/v1/facilities/{work['id']}"
    created = client.get(f"{url}/history").json()["items"][0]["at"]
    # a later write, so that `as_of` reads the document from the audit trail
    client.post(f"{url}/verification", json={})
    past = {"as_of": created}
    for who in ("anonymous", "operator_in", "manager_out"):
        reader = caller(client_for, who, work["id"])
        for params in ({}, {"f": "geojson"}, past):
            body = reader.get(url, params=params).json()
            entrances = body.get("properties", body)["entrances"]
            assert [e["kind"] for e in entrances] == ["vehicle", "pedestrian"], (who, params)
    for who in ("admin", "gis", "manager_in"):
        reader = caller(client_for, who, work["id"])
        for params in ({}, past):
            kinds = [e["kind"] for e in reader.get(url, params=params).json()["entrances"]]
            assert kinds == ["vehicle", "pedestrian", "wartime"], (who, params)
