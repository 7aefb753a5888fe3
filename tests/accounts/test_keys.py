import asyncio
import hashlib
import time

from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from app.accounts import gate

PROBLEM = "application/problem+json"


def test_a_key_is_shown_once_and_stored_only_as_its_hash(client, connection):
    response = client.post(
        "/v1/admin/keys",
        json={"name": "蜀山区人防办", "role": "manager", "admin_codes": ["340104"]},
    )
    assert response.status_code == 201, response.text
    created = response.json()
    secret = created["key"]
    assert secret.startswith("rf_") and len(secret) > 40
    assert response.headers["location"].endswith(f"/v1/admin/keys/{created['id']}")

    stored = connection.execute(
        text("SELECT key_hash, prefix FROM api_key WHERE id = :id"), {"id": created["id"]}
    ).one()
    assert stored.key_hash == hashlib.sha256(secret.encode()).hexdigest()
    dump = connection.execute(text("SELECT api_key::text FROM api_key")).scalars().all()
    assert not any(secret in row for row in dump)
    assert secret.startswith(stored.prefix)

    # Reading the key back never shows the secret again.
    again = client.get(f"/v1/admin/keys/{created['id']}").json()
    assert "key" not in again and again["prefix"] == stored.prefix
    listed = client.get("/v1/admin/keys").json()
    assert all("key" not in key for key in listed)
    assert created["id"] in [key["id"] for key in listed]


def test_a_key_authenticates_until_it_is_revoked(client, app, make_key):
    from fastapi.testclient import TestClient

    secret = make_key("gis")
    gis = TestClient(app, headers={"Authorization": f"Bearer {secret}"})
    key_id = max(key["id"] for key in client.get("/v1/admin/keys").json())
    assert gis.get("/v1/maintenance/overdue").status_code == 200

    revoked = client.delete(f"/v1/admin/keys/{key_id}")
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    response = gis.get("/v1/maintenance/overdue")
    assert response.status_code == 401
    assert response.headers["content-type"] == PROBLEM
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert key_id not in [key["id"] for key in client.get("/v1/admin/keys").json()]
    assert key_id in [key["id"] for key in client.get("/v1/admin/keys?include_revoked=true").json()]
    # Revoking again is harmless and keeps the first revocation time.
    assert (
        client.delete(f"/v1/admin/keys/{key_id}").json()["revoked_at"]
        == (revoked.json()["revoked_at"])
    )


def test_a_key_cannot_revoke_itself(client):
    own_id = max(key["id"] for key in client.get("/v1/admin/keys").json())
    response = client.delete(f"/v1/admin/keys/{own_id}")
    assert response.status_code == 409
    assert client.get("/v1/admin/keys").status_code == 200


def test_unknown_or_malformed_credentials_are_401(app):
    from fastapi.testclient import TestClient

    for header in ("Bearer rf_not-a-key", "Basic dXNlcjpwYXNz", "Bearer", "rf_x"):
        response = TestClient(app, headers={"Authorization": header}).get("/v1/facilities")
        assert response.status_code == 401, header
        assert response.headers["content-type"] == PROBLEM


def test_key_rules(client):
    cases = [
        ({"name": "m", "role": "manager"}, "admin_codes"),
        ({"name": "o", "role": "operator"}, "facility_ids"),
        (
            {"name": "o", "role": "operator", "facility_ids": [1], "admin_codes": ["340100"]},
            "admin_codes",
        ),
        ({"name": "a", "role": "admin", "admin_codes": ["340100"]}, "admin_codes"),
        ({"name": "m", "role": "manager", "admin_codes": ["349999"]}, "admin_codes.0"),
        ({"name": "m", "role": "boss"}, "body.role"),
        ({"name": "m", "role": "gis", "secret": "x"}, "body.secret"),
    ]
    for body, field in cases:
        response = client.post("/v1/admin/keys", json=body)
        assert response.status_code == 422, body
        assert field in [e["field"] for e in response.json()["errors"]], response.text


def test_only_admins_manage_keys(client_for):
    body = {"name": "x", "role": "gis"}
    assert client_for(None).post("/v1/admin/keys", json=body).status_code == 401
    assert client_for(None).get("/v1/admin/keys").status_code == 401
    for role, scope in (("gis", {}), ("manager", {"admin_codes": ["340100"]})):
        other = client_for(role, **scope)
        assert other.post("/v1/admin/keys", json=body).status_code == 403
        assert other.get("/v1/admin/keys").status_code == 403
        assert other.delete("/v1/admin/keys/1").status_code == 403


def test_a_key_learns_its_own_role_and_scope(client_for):
    manager = client_for("manager", admin_codes=["340104"], facility_ids=[7])
    me = manager.get("/v1/me")
    assert me.status_code == 200
    assert me.json() | {"key_id": 0} == {
        "key_id": 0,
        "name": "test manager",
        "role": "manager",
        "admin_codes": ["340104"],
        "facility_ids": [7],
    }
    anonymous = client_for(None).get("/v1/me")
    assert anonymous.status_code == 401
    assert anonymous.headers["content-type"] == "application/problem+json"


def test_requests_of_a_key_that_miss_the_cache_at_once_share_one_read(app, make_key, monkeypatch):
    """When a busy key's cache entry expires, every request in flight misses it at once:
    they wait for one read of the key instead of each making its own."""
    secret = make_key("gis")
    header = f"Bearer {secret}".encode()
    keys = app.state.keys
    reads = []
    real = gate._authenticate

    def counted(app, key_hash):
        reads.append(key_hash)
        time.sleep(0.05)  # the others arrive while it reads
        return real(app, key_hash)

    monkeypatch.setattr(gate, "_authenticate", counted)

    async def at_once():
        return await asyncio.gather(
            *(keys.look_up(app, secret, header) for _ in range(20)), return_exceptions=True
        )

    principals = asyncio.run(at_once())
    assert len(reads) == 1
    assert principals[0].key_id is not None and principals == [principals[0]] * 20
    assert keys.by_header(header) == principals[0]
    # Expired, the entry is read again: a revocation elsewhere is seen within the ttl.
    keys._known.clear()
    asyncio.run(at_once())
    assert len(reads) == 2

    def away(app, key_hash):
        reads.append(key_hash)
        time.sleep(0.05)
        raise OperationalError("SELECT", {}, Exception("connection refused"))

    monkeypatch.setattr(gate, "_authenticate", away)
    keys._known.clear()
    failed = asyncio.run(at_once())
    assert len(reads) == 3 and all(isinstance(f, OperationalError) for f in failed)


def test_a_read_of_a_key_begun_before_its_revocation_is_not_kept(app, make_key, monkeypatch):
    """A read in flight when the worker forgets its keys (a revocation) may have found the
    key unrevoked: its callers are answered, but the entry is not kept, nor is the read
    shared with the look-ups that come after."""
    secret = make_key("gis")
    header = f"Bearer {secret}".encode()
    keys = app.state.keys
    real = gate._authenticate

    def revoked_meanwhile(app, key_hash):
        found = real(app, key_hash)
        keys.forget_all()  # the revoking request, done while this read came back
        return found

    monkeypatch.setattr(gate, "_authenticate", revoked_meanwhile)
    assert asyncio.run(keys.look_up(app, secret, header)) is not None
    assert keys.by_header(header) is None and keys.known(secret, header) is None
    assert keys._reading == {}


def test_a_revocation_is_committed_before_the_worker_forgets_its_keys(
    client, app, make_key, monkeypatch
):
    """Forgotten first, a request of the key between the two would read it unrevoked
    and keep it for RF_KEY_CACHE_S on the very worker that revoked it."""
    make_key("gis")
    key_id = max(key["id"] for key in client.get("/v1/admin/keys").json())
    events = []
    commit, forget_all = Session.commit, app.state.keys.forget_all
    monkeypatch.setattr(Session, "commit", lambda s: events.append("commit") or commit(s))
    monkeypatch.setattr(
        app.state.keys, "forget_all", lambda: events.append("forget") or forget_all()
    )
    assert client.delete(f"/v1/admin/keys/{key_id}").status_code == 200
    assert events.index("commit") < events.index("forget")


def test_a_key_padded_with_spaces_works_but_its_header_is_not_remembered(app, make_key):
    """A header is remembered as sent (for the fast path) only in a key's usual length:
    padded, a key's holder could fill the worker's memory with 16 KB spellings of it."""
    from fastapi.testclient import TestClient

    secret = make_key("gis")
    keys = app.state.keys
    for header in (f"Bearer {secret}", f"Bearer {' ' * 8000}{secret}  "):
        client = TestClient(app, headers={"Authorization": header})
        for _ in range(2):  # read, then found in the cache
            assert client.get("/v1/me").status_code == 200
    assert list(keys._headers) == [f"Bearer {secret}".encode()]
