"""Webhooks end to end: subscriptions through the API, events through the outbox, the
worker's passes delivering to a real receiving server on loopback."""

import base64
import hashlib
import hmac
import json
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from app.accounts.principal import ANONYMOUS
from app.main import create_app
from app.reports import service as reports
from app.reports.schemas import ReportCreate
from app.webhooks import delivery, worker
from tests.webhooks.conftest import new_secret

EVENTS = ["report.created"]


def subscribe(client, receiver, *, expected: int = 201, **body):
    body = {"url": receiver.url, "events": EVENTS, "secret": new_secret(), **body}
    response = client.post("/v1/webhooks", json=body)
    assert response.status_code == expected, response.text
    return response.json()


def run(app, http, *, now: datetime | None = None) -> int:
    """One pass of the worker: the outbox fanned out, the due deliveries attempted."""
    worker.dispatch(app.state.sessionmaker, now=now or datetime.now(UTC))
    return worker.deliver_due(app.state.sessionmaker, http, app.state.settings, now=now)


def report(public_client, facility_id: int, kind: str = "locked") -> dict:
    response = public_client.post(f"/v1/facilities/{facility_id}/reports", json={"kind": kind})
    assert response.status_code == 201, response.text
    return response.json()


def verify(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """The receiver's check, as docs/api.md shows it."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return any(
        hmac.compare_digest(f"v1,{expected}", part) for part in headers["webhook-signature"].split()
    )


@pytest.fixture
def manager(client_for):
    return client_for("manager", admin_codes=["340104"])


def test_a_committed_report_is_delivered_signed(
    create, manager, public_client, receiver, app, http
):
    facility = create()
    secret = new_secret()
    created = subscribe(manager, receiver, secret=secret)
    sent = report(public_client, facility["id"])
    assert run(app, http) == 1
    [got] = receiver.requests
    assert got.path == "/hooks/rf?from=registry"
    assert verify(secret, got.headers, got.body)
    assert not verify(new_secret(), got.headers, got.body)
    assert abs(int(got.headers["webhook-timestamp"]) - datetime.now(UTC).timestamp()) < 3600
    message = json.loads(got.body)
    assert message["type"] == "report.created"
    assert message["data"]["id"] == sent["id"]
    assert message["data"]["facility_id"] == facility["id"]
    assert "contact" not in message["data"]
    log = manager.get(f"/v1/webhooks/{created['id']}/deliveries").json()["items"]
    assert [(d["status"], d["response_status"], d["attempts"]) for d in log] == [
        ("delivered", 204, 1)
    ]
    assert log[0]["event_id"] == got.headers["webhook-id"]
    assert run(app, http) == 0  # delivered once


def test_a_rolled_back_write_sends_nothing(create, manager, receiver, app, http, connection):
    facility = create()
    subscribe(manager, receiver)
    with Session(connection, join_transaction_mode="create_savepoint") as session:
        reports.create_report(
            session, facility["id"], ReportCreate(kind="locked"), principal=ANONYMOUS
        )
        assert session.scalar(text("SELECT count(*) FROM webhook_outbox")) == 1
        session.rollback()
    assert run(app, http) == 0
    assert receiver.requests == []
    assert connection.scalar(text("SELECT count(*) FROM webhook_delivery")) == 0


def test_events_outside_the_subscription_scope_are_not_sent(
    create, client_for, public_client, receiver, app, http
):
    luyang = client_for("manager", admin_codes=["340103"])
    subscribe(luyang, receiver)
    report(public_client, create()["id"])  # a work in Shushan, 340104
    assert run(app, http) == 0
    assert receiver.requests == []


def test_a_division_narrows_an_admin_subscription(
    create, client, public_client, receiver, app, http
):
    subscribe(client, receiver, admin_code="340103")
    subscribe(client, receiver, admin_code="340100")
    report(public_client, create()["id"])
    assert run(app, http) == 1  # the Hefei one, not the Luyang one


def test_a_failing_receiver_is_retried_then_paused(
    create, manager, public_client, receiver, app, http
):
    receiver.status, receiver.answer = 500, b"database down " * 200
    created = subscribe(manager, receiver)
    report(public_client, create()["id"])
    start = datetime.now(UTC)
    assert run(app, http, now=start) == 1
    assert run(app, http, now=start + timedelta(seconds=10)) == 0  # backing off
    assert run(app, http, now=start + timedelta(seconds=31)) == 1
    assert run(app, http, now=start + timedelta(seconds=60)) == 0
    assert run(app, http, now=start + timedelta(seconds=95)) == 1
    url = f"/v1/webhooks/{created['id']}"
    paused = manager.get(url).json()
    assert paused["paused_at"] is not None and paused["consecutive_failures"] == 3
    assert run(app, http, now=start + timedelta(hours=2)) == 0  # paused: not attempted
    assert len(receiver.requests) == 3
    assert len({r.headers["webhook-id"] for r in receiver.requests}) == 1
    [log] = manager.get(f"{url}/deliveries").json()["items"]
    assert (log["status"], log["attempts"], log["response_status"]) == ("pending", 3, 500)
    assert log["response_excerpt"].startswith("database down")
    assert len(log["response_excerpt"]) == 1024  # bounded
    receiver.status = 200
    resumed = manager.post(f"{url}/resume")
    assert resumed.status_code == 200
    assert resumed.json()["paused_at"] is None
    assert run(app, http) == 1
    assert manager.get(url).json()["consecutive_failures"] == 0
    [log] = manager.get(f"{url}/deliveries").json()["items"]
    assert (log["status"], log["attempts"]) == ("delivered", 4)


def test_a_delivery_is_given_up_after_a_day(create, manager, public_client, receiver, app, http):
    receiver.status = 503
    created = subscribe(manager, receiver)
    report(public_client, create()["id"])
    start = datetime.now(UTC)
    run(app, http, now=start)
    run(app, http, now=start + timedelta(hours=23, minutes=59, seconds=50))
    [log] = manager.get(f"/v1/webhooks/{created['id']}/deliveries").json()["items"]
    assert log["status"] == "failed"
    assert run(app, http, now=start + timedelta(days=3)) == 0


def test_retries_back_off_exponentially():
    created = now = datetime(2026, 12, 6, tzinfo=UTC)
    gaps = []
    for attempts in range(1, 30):
        at = worker.retry_at(attempts=attempts, created_at=created, now=now, window_s=86400)
        if at is None:
            break
        gaps.append((at - now).total_seconds())
        now = at
    assert gaps[:4] == [30, 60, 120, 240]
    assert max(gaps) == worker.MAX_RETRY_GAP_S
    assert now - created <= timedelta(days=1)
    assert 10 <= len(gaps) <= 20


def test_a_redirect_is_not_followed(create, manager, public_client, receiver, app, http):
    receiver.status, receiver.headers = 307, {"Location": receiver.url + "&again=1"}
    created = subscribe(manager, receiver)
    report(public_client, create()["id"])
    run(app, http)
    assert len(receiver.requests) == 1
    [log] = manager.get(f"/v1/webhooks/{created['id']}/deliveries").json()["items"]
    assert (log["status"], log["response_status"]) == ("pending", 307)


def test_an_answer_of_any_bytes_is_logged(create, manager, public_client, receiver, app, http):
    receiver.status, receiver.answer = 200, b"\x00\xff\xfe ok \x00"
    created = subscribe(manager, receiver)
    report(public_client, create()["id"])
    assert run(app, http) == 1
    [log] = manager.get(f"/v1/webhooks/{created['id']}/deliveries").json()["items"]
    assert log["status"] == "delivered"
    assert log["response_excerpt"] == "\ufffd\ufffd\ufffd ok \ufffd"


@pytest.fixture
def dribbler() -> Iterator[str]:
    """A receiver that answers 200, one byte every 0.1 s: each read is quick, the whole
    answer slow."""
    server = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        connection, _ = server.accept()
        with connection:
            connection.recv(65536)
            for byte in (
                b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nX-Slow: " + b"z" * 30 + b"\r\n\r\n"
            ):
                try:
                    connection.sendall(bytes([byte]))
                except OSError:  # the attempt gave up
                    return
                time.sleep(0.1)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}/hook"
    thread.join()
    server.close()


def test_an_attempt_ends_at_its_timeout_however_the_receiver_dribbles(dribbler):
    """Each byte within the timeout, the answer not: the attempt fails, rather than hold
    the worker (and every delivery queued behind it) for as long as the receiver likes."""
    with delivery.client(0.5) as client:
        answer = delivery.post(
            client,
            url=dribbler,
            secret=new_secret(),
            message_id="msg_1",
            timestamp=0,
            body="{}",
            allow_private=True,
        )
    assert not answer.ok
    assert answer.error is not None and "Timeout" in answer.error


def test_replay_sends_the_same_message_again(create, manager, public_client, receiver, app, http):
    created = subscribe(manager, receiver)
    report(public_client, create()["id"])
    run(app, http)
    url = f"/v1/webhooks/{created['id']}/deliveries"
    [first] = manager.get(url).json()["items"]
    again = manager.post(f"{url}/{first['id']}/replay")
    assert again.status_code == 202, again.text
    assert again.json()["replay_of"] == first["id"]
    assert again.json()["status"] == "pending"
    assert manager.post(f"{url}/{again.json()['id']}/replay").status_code == 409
    assert run(app, http) == 1
    one, two = receiver.requests
    assert one.body == two.body
    assert one.headers["webhook-id"] == two.headers["webhook-id"]
    detail = manager.get(f"{url}/{again.json()['id']}").json()
    assert (
        detail["status"] == "delivered" and json.loads(detail["body"])["type"] == "report.created"
    )


def test_the_secret_is_never_shown(manager, receiver, connection):
    secret = new_secret()
    created = subscribe(manager, receiver, secret=secret, description="蜀山区值班室")
    url = f"/v1/webhooks/{created['id']}"
    answers = [
        created,
        manager.get(url).json(),
        manager.get("/v1/webhooks").json(),
        manager.patch(url, json={"secret": new_secret()}).json(),
    ]
    trail = connection.scalars(
        text("SELECT changes::text FROM audit_event WHERE entity = 'webhook_subscription'")
    ).all()
    assert len(trail) == 2 and not any("whsec_" in entry for entry in trail)
    for answer in answers:
        assert "whsec_" not in json.dumps(answer)
        assert "secret" not in json.dumps(answer)


def test_subscriptions_are_listed_changed_and_deleted(manager, client, receiver):
    created = subscribe(manager, receiver, admin_code="340104")
    url = f"/v1/webhooks/{created['id']}"
    assert created["events"] == EVENTS and created["admin_code"] == "340104"
    changed = manager.patch(url, json={"events": ["alert.received"], "admin_code": None})
    assert changed.status_code == 200, changed.text
    assert (changed.json()["events"], changed.json()["admin_code"]) == (["alert.received"], None)
    assert manager.patch(url, json={"url": None}).status_code == 422
    assert [w["id"] for w in manager.get("/v1/webhooks").json()["items"]] == [created["id"]]
    assert created["id"] in [w["id"] for w in client.get("/v1/webhooks").json()["items"]]
    assert manager.delete(url).status_code == 204
    assert manager.get(url).status_code == 404


def test_a_manager_subscribes_only_within_its_scope(client_for, receiver):
    shushan = client_for("manager", admin_codes=["340104"])
    hefei = client_for("manager", admin_codes=["340100"])
    subscribe(hefei, receiver, admin_code="340104")  # a district of its city
    subscribe(shushan, receiver, admin_code="340104")
    for code in ("340100", "340103", "340000"):
        refused = subscribe(shushan, receiver, admin_code=code, expected=403)
        assert code in refused["detail"]
    subscribe(shushan, receiver, admin_code="999999", expected=422)
    by_facility = client_for("manager", facility_ids=[1])
    subscribe(by_facility, receiver)
    subscribe(by_facility, receiver, admin_code="340104", expected=403)


def test_a_key_sees_only_its_own_subscriptions(client_for, client, receiver):
    theirs = subscribe(client, receiver)
    mine = subscribe(client_for("manager", admin_codes=["340104"]), receiver)
    other = client_for("manager", admin_codes=["340104"])
    for path in ("", "/deliveries", "/resume"):
        method = other.post if path == "/resume" else other.get
        assert method(f"/v1/webhooks/{theirs['id']}{path}").status_code == 404
        assert method(f"/v1/webhooks/{mine['id']}{path}").status_code == 404
    assert other.patch(f"/v1/webhooks/{mine['id']}", json={"events": EVENTS}).status_code == 404
    assert other.delete(f"/v1/webhooks/{mine['id']}").status_code == 404
    assert other.get("/v1/webhooks").json()["items"] == []


@pytest.mark.parametrize(("role", "status"), [(None, 401), ("gis", 403), ("operator", 403)])
def test_only_managers_and_admins_subscribe(client_for, receiver, role, status):
    scope = {"facility_ids": [1]} if role == "operator" else {}
    subscribe(client_for(role, **scope), receiver, expected=status)


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"url": "ftp://example.org/hook"}, "http or https"),
        ({"url": "https://example.org/" + "a" * 2048}, "2048"),
        ({"url": "https://user:pw@example.org/hook"}, "credentials"),
        ({"url": "not a url"}, "without spaces"),
        ({"url": "https://例子.测试/hook"}, "punycode"),
        ({"url": "https://example.org/\thook"}, "printable"),
        ({"secret": "plain-text-secret-of-some-length"}, "whsec_"),
        ({"secret": "whsec_" + base64.b64encode(b"short").decode()}, "24 to 64 bytes"),
        ({"secret": "whsec_not*base64"}, "base64"),
        ({"events": []}, "at least 1"),
        ({"events": ["report.created", "report.created"]}, "twice"),
        ({"events": ["report.deleted"]}, "report.created"),
        ({"admin_code": "34010"}, "pattern"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_a_bad_subscription_is_refused_naming_the_field(client, receiver, connection, change, says):
    response = client.post(
        "/v1/webhooks",
        json={"url": receiver.url, "events": EVENTS, "secret": new_secret(), **change},
    )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert says in response.text
    assert connection.scalar(text("SELECT count(*) FROM webhook_subscription")) == 0


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/hook",
        "http://localhost/hook",
        "http://10.1.2.3/hook",
        "http://192.168.1.1/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://0.0.0.0/hook",
        "http://2130706433/hook",
        # IPv6 forms carrying a private IPv4 address: IPv4-compatible, 6to4, NAT64
        "http://[::7f00:1]/hook",
        "http://[2002:a9fe:a9fe::]/hook",
        "http://[64:ff9b::a00:1]/hook",
        "http://[64:ff9b:1::a00:1]/hook",
        "http://[fec0::1]/hook",
    ],
)
def test_private_targets_are_refused_unless_allowed(settings, engine, connection, make_key, url):
    from sqlalchemy.orm import sessionmaker

    from app.db.replicas import Reads

    assert settings.webhook_allow_private is False
    app = create_app(settings)
    app.state.sessionmaker = sessionmaker(
        connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    app.state.reads = Reads(app.state.sessionmaker)
    admin = TestClient(app, headers={"Authorization": f"Bearer {make_key('admin')}"})
    response = admin.post(
        "/v1/webhooks", json={"url": url, "events": EVENTS, "secret": new_secret()}
    )
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == "url"
    assert connection.scalar(text("SELECT count(*) FROM webhook_subscription")) == 0


@pytest.mark.parametrize("address", ["64:ff9b::808:808", "2002:808:808::", "2606:4700::1111"])
def test_a_public_address_in_an_ipv6_form_is_allowed(address):
    assert delivery.resolve(f"http://[{address}]/hook", allow_private=False) == address


def test_a_private_target_is_not_delivered_to_when_refused(
    create, manager, public_client, receiver, app, http, loopback_settings
):
    created = subscribe(manager, receiver)
    report(public_client, create()["id"])
    worker.dispatch(app.state.sessionmaker, now=datetime.now(UTC))
    strict = loopback_settings.model_copy(update={"webhook_allow_private": False})
    assert worker.deliver_due(app.state.sessionmaker, http, strict) == 1
    assert receiver.requests == []
    [log] = manager.get(f"/v1/webhooks/{created['id']}/deliveries").json()["items"]
    assert log["response_status"] is None and "127.0.0.1" in log["error"]


def test_a_revoked_key_hears_nothing(
    create, client, client_for, public_client, receiver, app, http, connection
):
    manager = client_for("manager", admin_codes=["340104"])
    subscribe(manager, receiver)
    key_id = connection.scalar(text("SELECT key_id FROM webhook_subscription"))
    connection.execute(text("UPDATE api_key SET revoked_at = now() WHERE id = :id"), {"id": key_id})
    report(public_client, create()["id"])
    assert run(app, http) == 0
    assert receiver.requests == []
