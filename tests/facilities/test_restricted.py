"""Restricted fields never reach callers without the right role, in any representation."""

from datetime import UTC, datetime

import pytest

from app.facilities.repository import RESTRICTED_FIELDS

RESTRICTED = set(RESTRICTED_FIELDS)
PUBLIC_SAMPLE = {"name", "location", "capacity_persons", "entrances", "address", "status"}


def representations(caller, facility_id: int) -> list[dict]:
    """Every shape a facility is served in, each reduced to its property dict."""
    url = f"/v1/facilities/{facility_id}"
    single = caller.get(url).json()
    feature = caller.get(url, params={"f": "geojson"}).json()
    listed = caller.get("/v1/facilities", params={"admin_code": "340104"}).json()["items"]
    features = caller.get(
        "/v1/facilities",
        params={"admin_code": "340104"},
        headers={"Accept": "application/geo+json"},
    ).json()["features"]
    past = caller.get(url, params={"as_of": datetime.now(UTC).isoformat()}).json()
    found = [doc for doc in listed if doc["id"] == facility_id]
    found_feature = [f["properties"] for f in features if f["id"] == facility_id]
    assert found and found_feature
    return [single, feature["properties"], found[0], found_feature[0], past]


@pytest.mark.parametrize("role", [None, "operator", "manager_out"])
def test_callers_without_the_role_get_no_restricted_field(client_for, create, role):
    facility = create()
    scope = {
        "operator": {"facility_ids": [facility["id"]]},
        "manager_out": {"admin_codes": ["340200"]},
    }
    caller = client_for("manager" if role == "manager_out" else role, **scope.get(role, {}))
    for doc in representations(caller, facility["id"]):
        assert not RESTRICTED & set(doc), sorted(RESTRICTED & set(doc))
        assert PUBLIC_SAMPLE - {"location"} <= set(doc)
        assert "13905510001" not in str(doc) and "王建国" not in str(doc)


@pytest.mark.parametrize("role", ["admin", "gis", "manager_in"])
def test_authorised_roles_get_every_field(client_for, create, role):
    facility = create()
    caller = client_for(
        "manager" if role == "manager_in" else role,
        **({"admin_codes": ["340104"]} if role == "manager_in" else {}),
    )
    for doc in representations(caller, facility["id"]):
        assert set(doc) >= RESTRICTED
        assert doc["keyholder_phone"] == "13905510001"


def test_a_manager_sees_restricted_fields_inside_its_scope_only(client_for, create):
    shushan = create()
    baohe = create(
        admin_code="340111",
        location={"type": "Point", "coordinates": [117.30, 31.79]},
        entrances=[],
    )
    manager = client_for("manager", admin_codes=["340104"])
    items = {
        doc["id"]: doc
        for doc in manager.get("/v1/facilities", params={"admin_code": "340100"}).json()["items"]
    }
    assert "keyholder_phone" in items[shushan["id"]]
    assert "keyholder_phone" not in items[baohe["id"]]


def test_the_openapi_document_names_the_public_fields(client):
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    public = set(schemas["FacilityPublicRead"]["properties"])
    full = set(schemas["FacilityRead"]["properties"])
    assert full >= RESTRICTED
    assert not RESTRICTED & public
    assert public | RESTRICTED == full


WARTIME_DOOR = {
    "kind": "wartime",
    "location": {"type": "Point", "coordinates": [117.2283, 31.8260]},
}


def test_each_document_variant_keeps_a_managers_restricted_fields_to_its_scope(
    client_for, public_client, create
):
    """Facility documents are built once per variant (JSON or GeoJSON, system, fields) and
    reused: asked in turn, inside and outside a manager's scope and by the public, no
    variant answers with another's fields or positions."""
    inside = create(entrances=[WARTIME_DOOR])
    outside = create(
        admin_code="340111",
        location={"type": "Point", "coordinates": [117.30, 31.79]},
        entrances=[{**WARTIME_DOOR, "location": {"type": "Point", "coordinates": [117.3, 31.8]}}],
    )
    manager = client_for("manager", admin_codes=["340104"])
    for f in ("json", "geojson"):
        for coordsys in ("wgs84", "gcj02"):
            params = {"f": f, "coordsys": coordsys}
            for caller, facility, sees in (
                (manager, inside, True),
                (manager, outside, False),
                (public_client, inside, False),
            ):
                answer = caller.get(f"/v1/facilities/{facility['id']}", params=params)
                assert answer.status_code == 200, answer.text
                doc = answer.json()
                fields = doc["properties"] if f == "geojson" else doc
                location = doc["geometry"] if f == "geojson" else fields["location"]
                assert ("keyholder_phone" in fields) is sees, (f, coordsys, facility["id"])
                kinds = {e["kind"] for e in fields["entrances"]}
                assert ("wartime" in kinds) is sees, (f, coordsys, facility["id"])
                stored = facility["location"]["coordinates"]
                shifted = location["coordinates"] != pytest.approx(stored, abs=1e-7)
                assert shifted is (coordsys == "gcj02"), (f, coordsys)
