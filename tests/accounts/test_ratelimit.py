"""The gate (accounts.gate) in-process: buckets per traffic class and caller, keys checked on
every route, the draft RateLimit headers. tests/test_security.py drives the same through
the real server, where the buckets are shared by its workers."""

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import sessionmaker

from app.accounts.gate import traffic_class
from app.accounts.ratelimit import (
    PROBES,
    Limit,
    RateTable,
    fingerprint,
    new_table_buffer,
)
from app.db.replicas import Reads
from app.main import create_app

PROBLEM = "application/problem+json"
TILE = "/ogc/collections/parking/tiles/WebMercatorQuad/14/13641/6733"


@pytest.fixture
def limited(settings, engine, connection):
    """An app with tiny buckets, its sessions in the test's transaction."""

    def make(**limits) -> FastAPI:
        app = create_app(settings.model_copy(update=limits))
        app.state.sessionmaker = sessionmaker(
            connection, join_transaction_mode="create_savepoint", expire_on_commit=False
        )
        app.state.reads = Reads(app.state.sessionmaker)
        return app

    return make


def statuses(client: TestClient, path: str, times: int) -> list[int]:
    return [client.get(path).status_code for _ in range(times)]


def test_a_bucket_refills_at_its_rate():
    now = [100.0]
    table = RateTable(clock=lambda: now[0])
    limit = Limit("read", per_minute=30, burst=2)  # a token every two seconds
    assert [table.take("a", limit) for _ in range(3)] == [0, 0, 2]
    assert table.take("b", limit) == 0  # buckets are per key
    now[0] += 1
    assert table.take("a", limit) == 1
    now[0] += 1
    assert table.take("a", limit) == 0


def test_tables_over_one_buffer_share_their_buckets():
    """What the workers of `rf serve` do with their shared memory."""
    buffer = new_table_buffer()
    first, second = RateTable(buffer), RateTable(buffer)
    limit = Limit("read", per_minute=1, burst=2)
    assert first.take("203.0.113.1", limit) == 0
    assert second.take("203.0.113.1", limit) == 0
    assert first.take("203.0.113.1", limit) > 0


def test_a_crowded_table_gives_up_the_bucket_counted_longest_ago():
    now = [0.0]
    table = RateTable(new_table_buffer(slots=16), clock=lambda: now[0])
    limit = Limit("read", per_minute=1, burst=1)
    home = int(fingerprint("newcomer")) % 16
    # A key homed on each of the newcomer's probe slots, each bucket emptied in turn.
    neighbours: dict[int, str] = {}
    for n in range(10_000):
        offset = (int(fingerprint(f"k{n}")) - home) % 16
        neighbours.setdefault(offset, f"k{n}")
    for offset in range(PROBES):
        now[0] += 1
        assert table.take(neighbours[offset], limit) == 0
    assert table.take("newcomer", limit) == 0
    assert table.take(neighbours[0], limit) == 0  # its bucket was given up
    assert table.take(neighbours[PROBES - 1], limit) > 0  # still counted


@pytest.mark.parametrize(
    ("method", "path", "traffic"),
    [
        ("GET", TILE, "map"),
        ("HEAD", "/ogc/collections/parking/tiles/WebMercatorQuad/tilejson.json", "map"),
        ("GET", "/ogc/tileMatrixSets/WebMercatorQuad", "map"),
        ("GET", "/ogc/collections/shelters/items", "features"),
        ("GET", "/ogc/collections/shelters/items/7", "features"),
        ("GET", "/ogc/collections/shelters", "read"),
        ("GET", "/v1/parking/nearby", "read"),
        ("GET", "/v1/export", "export"),
        ("GET", "/v1/campaigns/1", "export"),
        ("GET", "/v1/stats/survey", "export"),
        ("GET", "/v1/campaigns", "read"),
        ("GET", "/v1/stats", "read"),
        ("GET", "/v1/exports", "read"),
        ("POST", "/v1/facilities/1/reports", "write"),
        ("PATCH", "/v1/facilities/1", "write"),
    ],
)
def test_requests_are_classed_by_what_they_cost(method, path, traffic):
    assert traffic_class(method, path) == traffic


def test_anonymous_429_carries_retry_after_and_ratelimit_headers(limited):
    app = limited(read_rate_per_minute=1, read_burst=3)
    public = TestClient(app)
    first = public.get("/v1/facilities")
    assert statuses(public, "/v1/facilities", 2) == [200, 200]
    refused = public.get("/v1/facilities")
    assert refused.status_code == 429
    assert refused.headers["content-type"] == PROBLEM
    assert refused.json()["status"] == 429 and "read" in refused.json()["detail"]
    assert int(refused.headers["retry-after"]) >= 1
    assert refused.headers["ratelimit-policy"] == '"read";q=3;w=180'
    assert refused.headers["ratelimit"] == f'"read";r=0;t={refused.headers["retry-after"]}'
    assert first.status_code == 200
    # Probes never wait; another address has its own bucket.
    assert public.get("/healthz").status_code == 200
    assert TestClient(app, client=("203.0.113.9", 1)).get("/v1/facilities").status_code == 200


def test_map_traffic_has_its_own_bucket(limited):
    app = limited(read_rate_per_minute=1, read_burst=2, map_rate_per_minute=1, map_burst=5)
    public = TestClient(app)
    assert statuses(public, "/v1/facilities", 3) == [200, 200, 429]
    tilejson = "/ogc/collections/parking/tiles/WebMercatorQuad/tilejson.json"
    assert statuses(public, tilejson, 6) == [200] * 5 + [429]


def test_a_made_up_key_is_a_401_on_every_route_and_buys_no_bucket(limited):
    app = limited(read_rate_per_minute=1, read_burst=4)
    for path in ("/v1/parking/nearby?lon=117.2&lat=31.8", TILE, "/v1/divisions", "/ogc"):
        answer = TestClient(app, headers={"Authorization": "Bearer x"}).get(path)
        assert answer.status_code == 401, path
        assert answer.headers["www-authenticate"] == 'Bearer realm="rf"'
        assert answer.headers["content-type"] == PROBLEM
    # Four failures spent the address's tokens: now guessing waits, and so would reading.
    guesser = TestClient(app, headers={"Authorization": "Basic eDp5"})
    refused = guesser.get("/v1/divisions")
    assert refused.status_code == 429 and "retry-after" in refused.headers


def test_a_key_has_its_own_quota(limited, make_key):
    app = limited(read_rate_per_minute=1, read_burst=1, key_rate_per_minute=600, key_burst=200)
    admin = TestClient(app, headers={"Authorization": f"Bearer {make_key('admin')}"})
    assert statuses(admin, "/v1/facilities", 5) == [200] * 5
    small = make_key("gis", rate_per_minute=3)
    capped = TestClient(app, headers={"Authorization": f"Bearer {small}"})
    assert statuses(capped, "/v1/facilities", 2) == [200, 429]  # a burst of a third
    refused = capped.get("/v1/facilities")
    assert refused.headers["ratelimit-policy"] == '"key";q=1;w=20'
    assert "this key" in refused.json()["detail"]


def test_a_revoked_key_stops_at_once_on_the_worker_that_revoked_it(app, make_key):
    admin = TestClient(app, headers={"Authorization": f"Bearer {make_key('admin')}"})
    secret = make_key("gis")
    gis = TestClient(app, headers={"Authorization": f"Bearer {secret}"})
    assert gis.get("/v1/facilities").status_code == 200  # now cached
    key_id = next(
        k["id"] for k in admin.get("/v1/admin/keys").json() if secret.startswith(k["prefix"])
    )
    assert admin.delete(f"/v1/admin/keys/{key_id}").status_code == 200
    assert gis.get("/v1/facilities").status_code == 401


def test_anonymous_writes_keep_a_tight_bucket_and_app_keys_relay_reports(limited, make_key, create):
    facility = create()
    app = limited(report_rate_per_hour=1, report_burst=2, app_report_burst=3)
    url = f"/v1/facilities/{facility['id']}/reports"
    public = TestClient(app)
    posted = [public.post(url, json={"kind": "locked"}).status_code for _ in range(3)]
    assert posted == [201, 201, 429]
    refused = public.post(url, json={"kind": "locked"})
    assert int(refused.headers["retry-after"]) > 60
    assert public.get(f"/v1/facilities/{facility['id']}").status_code == 200  # reads go on
    # An app backend relays its users' reports from one address, limited per key.
    relay = TestClient(app, headers={"Authorization": f"Bearer {make_key('app')}"})
    relayed = [relay.post(url, json={"kind": "locked"}).status_code for _ in range(4)]
    assert relayed == [201, 201, 201, 429]


def test_an_app_key_reads_public_data_and_writes_nothing_else(client_for, create):
    facility = create()
    app_key = client_for("app")
    seen = app_key.get(f"/v1/facilities/{facility['id']}")
    assert seen.status_code == 200
    assert "keyholder_phone" not in seen.json() and "nuclear_level" not in seen.json()
    assert app_key.patch(f"/v1/facilities/{facility['id']}", json={"name": "x"}).status_code == 403
    assert app_key.get("/v1/admin/keys").status_code == 403


def test_an_app_key_takes_no_scope(client):
    body = {"name": "city app", "role": "app", "admin_codes": ["340100"]}
    assert client.post("/v1/admin/keys", json=body).status_code == 422
    created = client.post(
        "/v1/admin/keys", json={"name": "city app", "role": "app", "rate_per_minute": 600}
    )
    assert created.status_code == 201 and created.json()["rate_per_minute"] == 600


def test_an_address_out_of_guesses_costs_no_more_key_lookups(limited, make_key):
    app = limited(read_rate_per_minute=1, read_burst=2)
    known = TestClient(app, headers={"Authorization": f"Bearer {make_key('gis')}"})
    assert known.get("/v1/divisions").status_code == 200  # seen: in the worker's cache
    guesser = TestClient(app, headers={"Authorization": "Bearer rf_guess"})
    assert statuses(guesser, "/v1/divisions", 3) == [401, 401, 429]
    # A key never seen from this address now waits like a guess, before any lookup ...
    unseen = TestClient(app, headers={"Authorization": f"Bearer {make_key('gis')}"})
    assert unseen.get("/v1/divisions").status_code == 429
    # ... while a key this worker knows goes on.
    assert known.get("/v1/divisions").status_code == 200


@pytest.mark.parametrize(
    ("traffic", "method", "path"),
    [
        ("map", "GET", "/ogc/collections/parking/tiles/WebMercatorQuad/tilejson.json"),
        ("features", "GET", "/ogc/collections/shelters/items?limit=1"),
        ("read", "GET", "/v1/divisions"),
        ("export", "GET", "/v1/export?format=geojson&admin_code=340104"),
        ("export", "GET", "/v1/campaigns/1"),
    ],
)
def test_each_traffic_class_has_a_bucket_of_its_own(limited, traffic, method, path):
    app = limited(**{f"{traffic}_rate_per_minute": 1, f"{traffic}_burst": 2})
    public = TestClient(app)
    answers = [public.request(method, path).status_code for _ in range(3)]
    assert answers[:2] != [429, 429] and answers[2] == 429
    refused = public.request(method, path)
    assert refused.headers["ratelimit-policy"].startswith(f'"{traffic}";q=2;')
    # The other classes still answer this address.
    others = {"map": TILE, "features": "/ogc/collections/shelters/items", "read": "/ogc"}
    for other, other_path in others.items():
        if other != traffic:
            assert public.get(other_path).status_code != 429, other


def test_two_authorization_headers_are_a_400(client_for, make_key):
    admin = make_key("admin")
    answer = TestClient(client_for(None).app).get(
        "/v1/admin/keys",
        headers=[("Authorization", f"Bearer {admin}"), ("Authorization", "Bearer x")],
    )
    assert answer.status_code == 400 and "one Authorization header" in answer.json()["detail"]
