"""POST /v1/alerts and the alerts in force: CAP 1.2 in, JSON and CAP back."""

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from lxml import etree
from sqlalchemy import text

from app.alerts import cap
from app.alerts import service as alerts
from tests.alerts.cap_samples import (
    BILLION_LAUGHS,
    external_entity,
    message,
    reference,
)

XML = {"Content-Type": "application/xml"}
INSIDE = {"lon": 117.2281, "lat": 31.8262}
OUTSIDE = {"lon": 117.40, "lat": 31.95}


@pytest.fixture
def authority(client_for):
    return client_for("alert_authority")


def post(client, body: bytes, **headers):
    return client.post("/v1/alerts", content=body, headers={**XML, **headers})


def stored(connection) -> int:
    return connection.execute(text("SELECT count(*) FROM alert")).scalar_one()


def active_ids(client, **point) -> list[str]:
    response = client.get("/v1/alerts/active", params=point)
    assert response.status_code == 200, response.text
    return [item["identifier"] for item in response.json()["items"]]


def test_an_alert_over_a_polygon_is_in_force_inside_it_only(authority, public_client):
    response = post(authority, message("HF-001"))
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["msg_type"] == "Alert" and body["air_raid"] and not body["drill"]
    assert body["in_force"] and body["infos"][0]["areas"][0]["geometry"]["type"] == "MultiPolygon"
    assert response.headers["Location"].endswith(f"/v1/alerts/{body['id']}")
    assert active_ids(public_client, **INSIDE) == ["HF-001"]
    assert active_ids(public_client, **OUTSIDE) == []
    assert active_ids(public_client) == ["HF-001"]


def test_the_same_message_twice_is_stored_once(authority, connection):
    body = message("HF-002")
    first, again = post(authority, body), post(authority, body)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    assert stored(connection) == 1


def test_the_same_identifier_with_other_content_is_refused(authority, connection):
    assert post(authority, message("HF-003", event="空袭警报")).status_code == 201
    response = post(authority, message("HF-003", event="预先警报"))
    assert response.status_code == 409
    assert "HF-003" in response.json()["detail"]
    assert stored(connection) == 1


def test_an_update_replaces_what_it_references(authority, public_client):
    sent = datetime.now(UTC) - timedelta(minutes=5)
    first = post(authority, message("HF-010", sent=sent)).json()
    response = post(
        authority,
        message("HF-011", msg_type="Update", references=reference("HF-010", sent)),
    )
    assert response.status_code == 201, response.text
    assert response.json()["ended"] == [first["id"]]
    assert active_ids(public_client, **INSIDE) == ["HF-011"]
    old = public_client.get(f"/v1/alerts/{first['id']}").json()
    assert old["ended_by"] == response.json()["id"] and not old["in_force"]


def test_a_cancel_ends_the_alert(authority, public_client):
    sent = datetime.now(UTC) - timedelta(minutes=5)
    post(authority, message("HF-020", sent=sent))
    response = post(
        authority, message("HF-021", msg_type="Cancel", references=reference("HF-020", sent))
    )
    assert response.status_code == 201, response.text
    assert active_ids(public_client, **INSIDE) == []
    assert not response.json()["in_force"]


def test_an_update_of_an_unknown_message_stores_nothing(authority, connection):
    response = post(
        authority, message("HF-030", msg_type="Update", references=reference("HF-missing"))
    )
    assert response.status_code == 422
    assert "names no stored message" in response.json()["detail"]
    assert stored(connection) == 0


def test_another_senders_message_cannot_be_cancelled(authority, connection):
    post(authority, message("HF-031", sender="other@example.org"))
    response = post(
        authority,
        message(
            "HF-032", msg_type="Cancel", references=reference("HF-031", sender="other@example.org")
        ),
    )
    assert response.status_code == 422
    assert stored(connection) == 1


def test_only_the_key_that_posted_a_message_or_an_admin_acts_on_it(
    authority, client_for, client, public_client, connection
):
    # Another authority's key writes the same sender: the sender is what a message says.
    first = post(authority, message("HF-033"))
    sent = datetime.fromisoformat(first.json()["sent"])
    cancel = message("HF-034", msg_type="Cancel", references=reference("HF-033", sent))
    response = post(client_for("alert_authority"), cancel)
    assert response.status_code == 403, response.text
    assert "another key" in response.json()["detail"]
    assert stored(connection) == 1
    assert active_ids(public_client, **INSIDE) == ["HF-033"]
    assert post(client, cancel).status_code == 201
    assert active_ids(public_client, **INSIDE) == []


def test_an_alert_over_a_circle(authority, public_client):
    assert (
        post(authority, message("HF-040", polygon=None, circle="31.8262,117.2281 1")).status_code
        == 201
    )
    assert active_ids(public_client, **INSIDE) == ["HF-040"]
    # 1 km around: 2 km east is outside.
    assert active_ids(public_client, lon=117.2281 + 0.021, lat=31.8262) == []


@pytest.fixture
def shushan(connection):
    """A rough boundary for Shushan district (340104) around the test facilities."""
    connection.execute(
        text(
            "UPDATE division SET boundary = ST_Multi(ST_MakeEnvelope(117.10, 31.75, "
            "117.30, 31.90, 4326)) WHERE code = '340104'"
        )
    )


def test_an_alert_over_a_geocode_covers_the_division(authority, public_client, shushan):
    response = post(authority, message("HF-050", polygon=None, geocodes=("340104",)))
    assert response.status_code == 201, response.text
    assert response.json()["infos"][0]["areas"][0]["admin_codes"] == ["340104"]
    assert active_ids(public_client, **INSIDE) == ["HF-050"]
    assert active_ids(public_client, lon=117.35, lat=31.8) == []


def test_a_geocode_of_no_known_division_is_refused(authority, connection):
    response = post(authority, message("HF-051", polygon=None, geocodes=("349999",)))
    assert response.status_code == 422
    assert "349999" in response.json()["detail"]
    assert stored(connection) == 0


def test_expiry_ends_an_alert_by_itself(authority, session):
    expires = datetime.now(UTC) + timedelta(hours=1)
    assert post(authority, message("HF-060", expires=expires)).status_code == 201
    now = datetime.now(UTC)
    assert [a.identifier for a in alerts.in_force(session, now=now)] == ["HF-060"]
    later = expires + timedelta(seconds=1)
    assert alerts.in_force(session, now=later) == []


def test_an_expired_alert_is_not_in_force(authority, public_client):
    past = datetime.now(UTC) - timedelta(minutes=1)
    sent = past - timedelta(hours=1)
    assert post(authority, message("HF-061", sent=sent, expires=past)).status_code == 201
    assert active_ids(public_client, **INSIDE) == []


def wait_until(moment: datetime) -> None:
    while (left := (moment - datetime.now(UTC)).total_seconds()) > 0:
        time.sleep(left + 0.05)


@pytest.mark.parametrize("field", ["effective", "onset"])
def test_an_alert_to_come_is_in_force_from_its_time_only(authority, public_client, session, field):
    start = (datetime.now(UTC) + timedelta(minutes=1)).replace(microsecond=0)
    response = post(authority, message(f"HF-065-{field}", **{field: start}))
    assert response.status_code == 201, response.text
    body = response.json()
    assert not body["in_force"]
    assert datetime.fromisoformat(body["effective_at"]) == start
    assert active_ids(public_client, **INSIDE) == active_ids(public_client) == []
    before = alerts.in_force(session, now=start - timedelta(seconds=1))
    assert before == []
    assert [a.id for a in alerts.in_force(session, now=start)] == [body["id"]]


def test_an_alert_takes_effect_at_the_later_of_effective_and_onset(authority):
    now = datetime.now(UTC).replace(microsecond=0)
    effective, onset = now + timedelta(hours=2), now + timedelta(hours=1)
    body = post(authority, message("HF-066", effective=effective, onset=onset)).json()
    assert datetime.fromisoformat(body["effective_at"]) == effective
    body = post(authority, message("HF-067", effective=onset, onset=effective)).json()
    assert datetime.fromisoformat(body["effective_at"]) == effective


def test_an_exercise_is_a_drill(authority, public_client):
    response = post(authority, message("HF-070", status="Exercise"))
    assert response.json()["drill"] is True
    [item] = public_client.get("/v1/alerts/active", params=INSIDE).json()["items"]
    assert item["status"] == "Exercise" and item["drill"]


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (message("HF-080").replace(b"<msgType>Alert</msgType>", b""), "msgType"),
        (message("HF-081").replace(b"<status>Actual</status>", b"<status>Real</status>"), "Real"),
        (message("HF-082").replace(b"<sent>", b"<sent>x"), "sent"),
        (
            message("HF-083").replace(b"urn:oasis:names:tc:emergency:cap:1.2", b"urn:cap:1.1"),
            "alert",
        ),
    ],
    # The bodies carry the time of collection: named, so that every xdist worker
    # collects the same tests.
    ids=["no msgType", "status Real", "bad sent", "CAP 1.1"],
)
def test_a_message_the_schema_refuses_stores_nothing(authority, connection, body, says):
    response = post(authority, body)
    assert response.status_code == 422, response.text
    problem = response.json()
    assert "not a valid CAP 1.2 alert" in problem["detail"]
    assert any(says in e["message"] for e in problem["errors"]), problem["errors"]
    assert stored(connection) == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (message("HF-090", status="Draft"), "status"),
        (message("HF-091", msg_type="Update"), "references"),
        (message("HF-092", polygon="31.8,117.2 31.9,117.3 31.8,117.2"), "polygon"),
        (message("HF-093", polygon=None, circle="31.8,117.2 0"), "circle"),
        (message("HF-094", polygon="91,117.2 31.9,117.3 31.9,117.4 91,117.2"), "polygon"),
        # Near Fiji, across the 180th meridian: not the band around the earth between.
        (message("HF-096", polygon="-17,179 -17,-179 -16,-179 -16,179 -17,179"), "180th"),
        # At Hefei's latitude: as a band it covered Hefei.
        (message("HF-097", polygon=None, circle="31.86,179.9 100"), "180th"),
        (message("HF-098", polygon=None, circle="89.9,0 100"), "pole"),
    ],
    ids=[
        "Draft",
        "Update without references",
        "polygon of 3 points",
        "circle of 0",
        "lat 91",
        "across the 180th meridian",
        "circle across the 180th meridian",
        "circle over a pole",
    ],
)
def test_a_message_this_registry_cannot_act_on_is_refused(authority, connection, body, field):
    response = post(authority, body)
    assert response.status_code == 422, response.text
    assert field in response.json()["detail"]
    assert stored(connection) == 0


def test_a_message_holds_a_bounded_number_of_shapes_in_all(authority, connection):
    # Areas within their own bound, but together more than a message may build and every
    # answer on alerts in force then carries.
    circles = "".join(f"<circle>31.8,117.2 {k + 1}</circle>" for k in range(cap.MAX_SHAPES))
    areas = f"<area><areaDesc>x</areaDesc>{circles}</area>" * (
        cap.MAX_MESSAGE_SHAPES // cap.MAX_SHAPES + 1
    )
    body = message("HF-099").replace(b"</info>", areas.encode() + b"</info>")
    response = post(authority, body)
    assert response.status_code == 422, response.text
    assert response.json()["detail"] == (
        f"info.area: at most {cap.MAX_MESSAGE_SHAPES} polygons, circles and geocodes in all"
    )
    assert stored(connection) == 0


def test_a_polygon_of_no_extent_is_refused_by_its_place(authority, connection):
    # Four times the same point: closed and long enough, but it encloses nothing.
    point = "31.8,117.2 " * 3 + "31.8,117.2"
    response = post(authority, message("HF-095", polygon=point))
    assert response.status_code == 422, response.text
    assert response.json()["detail"] == "info[0].area[0]: its shapes enclose no area"
    assert stored(connection) == 0


def test_an_xml_bomb_is_refused_unexpanded(authority, connection):
    response = post(authority, BILLION_LAUGHS)
    assert response.status_code == 400
    assert "DTD" in response.json()["detail"]
    assert stored(connection) == 0


def test_an_external_entity_is_never_read(authority, connection, tmp_path: Path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-VALUE")
    response = post(authority, external_entity(str(secret)))
    assert response.status_code == 400
    assert "TOP-SECRET-VALUE" not in response.text
    assert stored(connection) == 0


def test_the_second_parser_refuses_a_bomb_as_well():
    # Past defusedxml, lxml's parser (no entity resolution) still does not expand it.
    with pytest.raises(etree.XMLSyntaxError):
        etree.fromstring(BILLION_LAUGHS, cap._parser())


def test_not_xml_is_a_bad_request(authority):
    response = post(authority, b"<alert>")
    assert response.status_code == 400
    assert "well-formed" in response.json()["detail"]


def test_only_xml_is_taken(authority):
    response = authority.post("/v1/alerts", json={"identifier": "x"})
    assert response.status_code == 415


def test_a_body_over_the_bound_is_refused(authority, settings):
    body = message("HF-100", extra_area="<!--" + "x" * settings.max_alert_bytes + "-->")
    assert post(authority, body).status_code == 413


@pytest.mark.parametrize(("role", "status"), [(None, 401), ("app", 403), ("gis", 403)])
def test_only_alert_authorities_and_admins_post(client_for, connection, role, status):
    assert post(client_for(role), message("HF-110")).status_code == status
    assert stored(connection) == 0


def test_an_admin_may_post(client):
    assert post(client, message("HF-111")).status_code == 201


def test_alerts_come_back_as_cap(authority, public_client):
    alert_id = post(authority, message("HF-120")).json()["id"]
    response = public_client.get(f"/v1/alerts/{alert_id}", params={"f": "cap"})
    assert response.headers["content-type"].startswith("application/cap+xml")
    assert cap.parse(response.content).identifier == "HF-120"
    feed = public_client.get(
        "/v1/alerts/active", params=INSIDE, headers={"Accept": "application/cap+xml"}
    )
    assert feed.headers["content-type"].startswith("application/atom+xml")
    root = etree.fromstring(feed.content)
    [entry] = root.findall("{http://www.w3.org/2005/Atom}entry")
    [alert] = entry.find("{http://www.w3.org/2005/Atom}content")
    assert cap.parse(etree.tostring(alert)).identifier == "HF-120"


def test_a_cap_document_runs_nothing_in_a_browser(authority, public_client):
    # The schema lets a signature hold any markup, an XHTML script as well.
    script = (
        '<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#">'
        '<h:script xmlns:h="http://www.w3.org/1999/xhtml">alert(1)</h:script></ds:Signature>'
    )
    body = message("HF-121").replace(b"</alert>", script.encode() + b"</alert>")
    alert_id = post(authority, body).json()["id"]
    for params in ({"f": "cap"}, {}):
        for path in (f"/v1/alerts/{alert_id}", "/v1/alerts/active"):
            response = public_client.get(path, params=params, headers={"Accept": "application/xml"})
            assert b"<h:script" in response.content
            assert response.headers["content-security-policy"] == "default-src 'none'; sandbox"
            assert response.headers["x-content-type-options"] == "nosniff"


def test_an_unknown_alert_is_404(public_client):
    assert public_client.get("/v1/alerts/999999").status_code == 404


def test_lon_without_lat_is_refused(public_client):
    response = public_client.get("/v1/alerts/active", params={"lon": 117.2})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "lat"


def test_alerts_in_force_and_searches_are_never_served_from_a_cache(public_client):
    # A CDN keeping "no alert" or a car park search without alert mode for a minute would
    # hide an air raid from those it serves.
    for path, params in (
        ("/v1/alerts/active", {}),
        ("/v1/alerts/active", {"f": "cap"}),
        ("/v1/parking/nearby", {"lon": 117.23, "lat": 31.82}),
        ("/v1/shelters/nearby", {"lon": 117.23, "lat": 31.82}),
    ):
        answer = public_client.get(path, params=params)
        assert answer.status_code == 200, answer.text
        assert answer.headers["cache-control"] == "no-cache", path


def ahead(**delta) -> datetime:
    return (datetime.now(UTC) + timedelta(**delta)).replace(microsecond=0)


def test_an_update_ahead_of_its_time_takes_over_at_that_time(authority, public_client, session):
    sent = datetime.now(UTC) - timedelta(minutes=5)
    first = post(authority, message("HF-100", sent=sent)).json()
    at = ahead(hours=1)
    update = post(
        authority,
        message("HF-101", msg_type="Update", sent=at, references=reference("HF-100", sent)),
    ).json()
    assert update["ended"] == [first["id"]] and not update["in_force"]
    assert datetime.fromisoformat(update["effective_at"]) == at
    # Until then the alert it references is in force, over its area and for alert mode.
    assert active_ids(public_client, **INSIDE) == ["HF-100"]
    old = public_client.get(f"/v1/alerts/{first['id']}").json()
    assert old["in_force"] and old["ended_by"] == update["id"]
    assert datetime.fromisoformat(old["ended_at"]) == at
    before = alerts.covering(session, **INSIDE, now=at - timedelta(seconds=1))
    assert [a["id"] for a in before] == [first["id"]] and alerts.alert_mode(before)
    # From then on the update is.
    assert [a.id for a in alerts.in_force(session, now=at)] == [update["id"]]
    assert [a["id"] for a in alerts.covering(session, **INSIDE, now=at)] == [update["id"]]


# A Cancel carries no info block here, so only its `sent` can lie ahead; an Update's info
# block says when it takes effect.
@pytest.mark.parametrize(("msg_type", "field"), [("Cancel", "sent"), ("Update", "effective")])
def test_a_change_ahead_of_its_time_ends_the_alert_at_that_time(
    authority, session, msg_type, field
):
    sent = datetime.now(UTC) - timedelta(minutes=5)
    first = post(authority, message("HF-110", sent=sent)).json()
    at = ahead(minutes=30)
    post(
        authority,
        message("HF-111", msg_type=msg_type, references=reference("HF-110", sent), **{field: at}),
    )
    assert [a.id for a in alerts.in_force(session, now=at - timedelta(seconds=1))] == [first["id"]]
    assert first["id"] not in [a.id for a in alerts.in_force(session, now=at)]
    assert alerts.covering(session, **INSIDE, now=at - timedelta(seconds=1))


def test_a_cancel_now_ends_what_an_update_would_end_later(authority, public_client, session):
    sent = datetime.now(UTC) - timedelta(minutes=5)
    first = post(authority, message("HF-120", sent=sent)).json()
    later = ahead(hours=1)
    post(
        authority,
        message("HF-121", msg_type="Update", effective=later, references=reference("HF-120", sent)),
    )
    cancel = post(
        authority, message("HF-122", msg_type="Cancel", references=reference("HF-120", sent))
    ).json()
    assert cancel["ended"] == [first["id"]]
    assert active_ids(public_client, **INSIDE) == []
    old = public_client.get(f"/v1/alerts/{first['id']}").json()
    assert old["ended_by"] == cancel["id"] and not old["in_force"]
    # The update still takes effect at its own time.
    assert [a.identifier for a in alerts.in_force(session, now=later)] == ["HF-121"]


def test_a_change_ahead_is_among_the_changes_to_come_with_what_it_ends(authority, session):
    sent = datetime.now(UTC) - timedelta(minutes=5)
    first = post(authority, message("HF-130", sent=sent)).json()
    at = ahead(hours=1)
    cancel = post(
        authority,
        message("HF-131", msg_type="Cancel", sent=at, references=reference("HF-130", sent)),
    ).json()
    coming = alerts.coming(session, now=datetime.now(UTC))
    assert (at, "effective", cancel["id"], [first["id"]]) in [
        (when, e["change"], e["id"], e["ended"]) for when, e in coming
    ]
    # The alert it ends expires later than that: its expiry is never told.
    assert ("expired", first["id"]) not in [(e["change"], e["id"]) for _, e in coming]
