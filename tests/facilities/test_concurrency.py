"""ETag / If-Match against lost updates, and Idempotency-Key against double creation."""

from sqlalchemy import text


def test_get_returns_the_version_as_etag(client, create):
    facility = create()
    url = f"/v1/facilities/{facility['id']}"
    response = client.get(url, headers={"Accept-Encoding": "identity"})
    assert response.headers["etag"] == '"1"'
    assert response.json()["version"] == 1
    # a compressed answer is another representation, with its own tag (app.core.compression)
    gzipped = client.get(url, headers={"Accept-Encoding": "gzip"})
    assert gzipped.headers["content-encoding"] == "gzip"
    assert gzipped.headers["etag"] == '"1-gzip"'


def test_if_match_takes_the_tag_of_a_compressed_answer(client, create):
    facility = create()
    url = f"/v1/facilities/{facility['id']}"
    tag = client.get(url, headers={"Accept-Encoding": "br"}).headers["etag"]
    assert tag == '"1-br"'
    patched = client.patch(url, json={"name": "新名称"}, headers={"If-Match": tag})
    assert patched.status_code == 200, patched.text
    stale = client.patch(url, json={"name": "再改"}, headers={"If-Match": tag})
    assert stale.status_code == 412


def test_patch_needs_if_match(client, create):
    facility = create()
    response = client.patch(f"/v1/facilities/{facility['id']}", json={"name": "x"})
    assert response.status_code == 428
    assert response.headers["content-type"] == "application/problem+json"


def test_two_clients_racing_on_the_same_facility(client, client_for, create):
    facility = create()
    url = f"/v1/facilities/{facility['id']}"
    other = client_for("manager", admin_codes=["340104"])
    tag_a = client.get(url).headers["etag"]
    tag_b = other.get(url).headers["etag"]
    first = client.patch(
        url, json={"name": "甲的修改"}, headers={"If-Match": tag_a, "Accept-Encoding": "identity"}
    )
    assert first.status_code == 200
    assert first.headers["etag"] == '"2"'
    second = other.patch(url, json={"keyholder_phone": "13800000000"}, headers={"If-Match": tag_b})
    assert second.status_code == 412
    assert second.headers["content-type"] == "application/problem+json"
    body = client.get(url).json()
    assert body["name"] == "甲的修改" and body["keyholder_phone"] == "13905510001"
    # Read again, reapply: accepted.
    fresh = other.get(url).headers["etag"]
    assert (
        other.patch(
            url, json={"keyholder_phone": "13800000000"}, headers={"If-Match": fresh}
        ).status_code
        == 200
    )
    # A weak tag never matches (strong comparison).
    weak = "W/" + client.get(url).headers["etag"]
    assert client.patch(url, json={"name": "y"}, headers={"If-Match": weak}).status_code == 412


def test_delete_honours_an_if_match_it_is_given(client, create):
    facility = create()
    url = f"/v1/facilities/{facility['id']}"
    assert client.delete(url, headers={"If-Match": '"7"'}).status_code == 412
    assert client.delete(url, headers={"If-Match": '"1"'}).status_code == 204


def test_a_retried_post_creates_nothing_twice(client, payload, connection):
    body = payload(code="RF-IDEMPOTENT-1")
    headers = {"Idempotency-Key": "3f1c6d9e-retry"}
    first = client.post("/v1/facilities", json=body, headers=headers)
    second = client.post("/v1/facilities", json=body, headers=headers)
    assert first.status_code == second.status_code == 201
    assert second.json() == first.json()
    assert second.headers["location"] == first.headers["location"]
    assert second.headers["idempotent-replayed"] == "true"
    count = connection.execute(
        text("SELECT count(*) FROM facility WHERE code = 'RF-IDEMPOTENT-1'")
    ).scalar_one()
    assert count == 1
    # The same key with another body is a client error, not a silent replay.
    other = client.post("/v1/facilities", json=payload(code="RF-IDEMPOTENT-2"), headers=headers)
    assert other.status_code == 422
    assert other.json()["type"] == "/problems/idempotency-key-reused"


def test_idempotency_keys_are_per_caller(client, client_for, create):
    facility = create()
    url = f"/v1/facilities/{facility['id']}/signs"
    body = {"kind": "direction", "status": "planned"}
    headers = {"Idempotency-Key": "same-key"}
    first = client.post(url, json=body, headers=headers)
    other = client_for("manager", admin_codes=["340104"]).post(url, json=body, headers=headers)
    assert first.status_code == other.status_code == 201
    assert first.json()["id"] != other.json()["id"]


def test_a_failed_post_leaves_its_key_free(client, payload):
    headers = {"Idempotency-Key": "k-after-failure"}
    bad = payload(code="RF-IDEM-3", capacity_persons=999_999)
    assert client.post("/v1/facilities", json=bad, headers=headers).status_code == 422
    good = payload(code="RF-IDEM-3")
    assert client.post("/v1/facilities", json=good, headers=headers).status_code == 201
