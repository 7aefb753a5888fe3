from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from tests.conftest import write_past_range_check

PROBLEM = "application/problem+json"
# These tests are about the PATCH rules, not concurrency: `*` matches any version
# (RFC 9110). Lost-update protection is tested in test_concurrency.py.
ANY_VERSION = {"If-Match": "*"}


def problem_fields(response) -> list[str]:
    assert response.headers["content-type"] == PROBLEM
    return [error["field"] for error in response.json().get("errors", [])]


# --- success paths -----------------------------------------------------------------


def test_create_returns_the_stored_facility(client, payload):
    response = client.post("/v1/facilities", json=payload())
    assert response.status_code == 201, response.text
    body = response.json()
    assert response.headers["location"].endswith(f"/v1/facilities/{body['id']}")
    assert body["code"] == "RF-340104-T000001"
    assert body["admin_code"] == "340104"
    assert (body["province_code"], body["city_code"], body["district_code"]) == (
        "340000",
        "340100",
        "340104",
    )
    assert body["location"] == {"type": "Point", "coordinates": [117.2281, 31.8262]}
    assert [e["kind"] for e in body["entrances"]] == ["vehicle", "pedestrian"]
    assert body["entrances"][1]["accessible"] is True
    assert body["shelter_area"] == 8000
    assert body["verified_at"].startswith("2024-05-10T01:00:00")


def test_get_as_json_and_geojson(client, create):
    facility = create()
    url = f"/v1/facilities/{facility['id']}"
    plain = client.get(url)
    assert plain.headers["content-type"] == "application/json"
    assert plain.json() == facility

    for feature in (
        client.get(url, params={"f": "geojson"}),
        client.get(url, headers={"Accept": "application/geo+json"}),
    ):
        assert feature.headers["content-type"] == "application/geo+json"
        body = feature.json()
        assert body["type"] == "Feature"
        assert body["id"] == facility["id"]
        assert body["geometry"] == facility["location"]
        assert body["properties"]["name"] == facility["name"]
        assert "location" not in body["properties"]


def test_get_unknown_is_404(client):
    response = client.get("/v1/facilities/987654321")
    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM


def test_patch_changes_only_the_given_fields(client, create):
    facility = create()
    footprint = {
        "type": "Polygon",
        "coordinates": [
            [[117.227, 31.825], [117.229, 31.825], [117.229, 31.827], [117.227, 31.825]]
        ],
    }
    response = client.patch(
        headers=ANY_VERSION,
        url=f"/v1/facilities/{facility['id']}",
        json={"name": "天鹅湖花园人防工程", "footprint": footprint, "keyholder_phone": None},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["name"] == "天鹅湖花园人防工程"
    assert body["keyholder_phone"] is None
    assert body["footprint"]["type"] == "MultiPolygon"
    assert body["address"] == facility["address"]
    assert body["entrances"] == facility["entrances"]
    assert body["updated_at"] >= facility["updated_at"]


def test_patch_replaces_entrances(client, create):
    facility = create()
    entrance = {
        "kind": "wartime",
        "location": {"type": "Point", "coordinates": [117.2290, 31.8270]},
    }
    body = client.patch(
        headers=ANY_VERSION, url=f"/v1/facilities/{facility['id']}", json={"entrances": [entrance]}
    ).json()
    assert [(e["kind"], e["location"]["coordinates"]) for e in body["entrances"]] == [
        ("wartime", [117.229, 31.827])
    ]


def test_delete_is_soft(client, create, connection):
    facility = create()
    url = f"/v1/facilities/{facility['id']}"
    assert client.delete(url).status_code == 204
    assert client.get(url).status_code == 410
    assert client.patch(headers=ANY_VERSION, url=url, json={"name": "x"}).status_code == 410
    assert client.delete(url).status_code == 410
    row = connection.execute(
        text("SELECT status, deleted_at IS NOT NULL, name FROM facility WHERE id = :id"),
        {"id": facility["id"]},
    ).one()
    assert tuple(row) == ("decommissioned", True, facility["name"])
    listed = client.get("/v1/facilities", params={"q": facility["name"]}).json()["items"]
    assert facility["id"] not in [f["id"] for f in listed]
    listed = client.get(
        "/v1/facilities", params={"q": facility["name"], "include_deleted": True}
    ).json()["items"]
    assert facility["id"] in [f["id"] for f in listed]


# --- protection units --------------------------------------------------------------


UNITS = [
    {"name": "防护单元一", "shelter_area": 3000, "capacity_persons": 2900},
    {"name": "防护单元二", "shelter_area": 2500.5, "capacity_persons": 2400},
]


def test_totals_follow_protection_units(client, payload):
    body = payload(protection_units=UNITS)
    del body["shelter_area"], body["capacity_persons"]
    response = client.post("/v1/facilities", json=body)
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["shelter_area"] == 5500.5
    assert created["capacity_persons"] == 5300
    assert [u["name"] for u in created["protection_units"]] == ["防护单元一", "防护单元二"]

    response = client.patch(
        headers=ANY_VERSION,
        url=f"/v1/facilities/{created['id']}",
        json={"protection_units": UNITS[:1]},
    )
    assert response.status_code == 200, response.text
    patched = response.json()
    assert (patched["shelter_area"], patched["capacity_persons"]) == (3000, 2900)


def test_totals_that_disagree_with_units_are_rejected(client, payload):
    response = client.post("/v1/facilities", json=payload(protection_units=UNITS))
    assert response.status_code == 422
    assert problem_fields(response) == ["shelter_area"]


def test_patching_a_total_against_existing_units_is_rejected(client, create):
    facility = create(protection_units=UNITS, shelter_area=5500.5, capacity_persons=5300)
    response = client.patch(
        headers=ANY_VERSION, url=f"/v1/facilities/{facility['id']}", json={"capacity_persons": 6000}
    )
    assert response.status_code == 422
    assert problem_fields(response) == ["capacity_persons"]


# --- list ----------------------------------------------------------------------------


def test_list_filters(client, create):
    shushan = create()
    baohe = create(
        admin_code="340111",
        name="滨湖世纪城人防工程",
        address="合肥市包河区徽州大道",
        location={"type": "Point", "coordinates": [117.29, 31.74]},
        entrances=[],
        wartime_function="supporting",
        wartime_subtype="power_station",
        construction_form="standalone",
        standalone_type="tunnel",
        capacity_persons=100,
    )
    wuhu = create(
        admin_code="340200",
        name="芜湖市镜湖区人防工程",
        address="芜湖市镜湖区中山路",
        location={"type": "Point", "coordinates": [118.38, 31.34]},
        status="suspended",
    )

    def ids(**params) -> set[int]:
        response = client.get("/v1/facilities", params={"limit": 1000, **params})
        assert response.status_code == 200, response.text
        return {f["id"] for f in response.json()["items"]}

    all_three = {shushan["id"], baohe["id"], wuhu["id"]}
    assert ids(admin_code="340000") >= all_three
    assert ids(admin_code="340100") & all_three == {shushan["id"], baohe["id"]}
    assert ids(admin_code="340111") & all_three == {baohe["id"]}
    assert ids(bbox="117.2,31.8,117.3,31.9") & all_three == {shushan["id"]}
    assert ids(wartime_function="supporting") & all_three == {baohe["id"]}
    assert ids(construction_form="standalone") & all_three == {baohe["id"]}
    assert ids(status="suspended") & all_three == {wuhu["id"]}
    assert ids(min_capacity=5000) & all_three == {shushan["id"], wuhu["id"]}
    assert ids(q="包河") & all_three == {baohe["id"]}
    assert ids(q="芜湖 镜湖") & all_three == set()
    assert ids(q="镜湖区中山") & all_three == {wuhu["id"]}
    assert ids(q="100%") & all_three == set()


def test_list_as_geojson_feature_collection(client, create):
    facility = create()
    for response in (
        client.get("/v1/facilities", params={"f": "geojson", "q": facility["name"]}),
        client.get(
            "/v1/facilities",
            params={"q": facility["name"]},
            headers={"Accept": "application/geo+json"},
        ),
    ):
        assert response.headers["content-type"] == "application/geo+json"
        body = response.json()
        assert body["type"] == "FeatureCollection"
        assert body["features"][0]["geometry"] == facility["location"]
        assert body["links"][0]["rel"] == "self"


def test_paging_10000_rows_skips_and_repeats_nothing(client, connection):
    connection.execute(
        text(
            """
            INSERT INTO facility (code, name, address, province_code, city_code, location,
                                  construction_form, wartime_function, status, visibility)
            SELECT 'RF-PAGE-' || n, '车库' || n, '合肥市', '340000', '340100',
                   ST_SetSRID(ST_MakePoint(117 + random(), 31 + random()), 4326),
                   'attached', 'personnel_shelter', 'in_service', 'public'
            FROM generate_series(1, 10000) AS n
            """
        )
    )
    expected = set(connection.scalars(text("SELECT id FROM facility WHERE code LIKE 'RF-PAGE-%'")))
    seen: list[int] = []
    url, params = "/v1/facilities", {"limit": 997, "q": "车库"}
    while url:
        response = client.get(url, params=params)
        assert response.status_code == 200
        body = response.json()
        seen += [f["id"] for f in body["items"]]
        url, params = (
            next((link["href"] for link in body["links"] if link["rel"] == "next"), None),
            None,
        )
        assert (body["next_cursor"] is None) == (url is None)
    assert len(seen) == len(set(seen)) == 10000
    assert set(seen) == expected
    assert seen == sorted(seen)


# --- bad input -----------------------------------------------------------------------

BOWTIE = {
    "type": "Polygon",
    "coordinates": [
        [[117.22, 31.82], [117.23, 31.83], [117.23, 31.82], [117.22, 31.83], [117.22, 31.82]]
    ],
}
UNCLOSED = {
    "type": "Polygon",
    "coordinates": [[[117.22, 31.82], [117.23, 31.82], [117.23, 31.83], [117.22, 31.83]]],
}


@pytest.mark.parametrize(
    ("overrides", "field", "fragment"),
    [
        ({"footprint": BOWTIE}, "body.footprint.Polygon", "Self-intersection"),
        ({"footprint": UNCLOSED}, "body.footprint.Polygon", "closed"),
        (
            {"location": {"type": "Point", "coordinates": [200, 31]}},
            "body.location.coordinates.0",
            "less than or equal",
        ),
        (
            {"location": {"type": "Point", "coordinates": [117, -95]}},
            "body.location.coordinates.1",
            "greater than or equal",
        ),
        (
            {"location": {"type": "Point", "coordinates": [2.35, 48.85]}},
            "body.location",
            "outside China",
        ),
        (
            {"location": {"type": "LineString", "coordinates": [[117, 31], [117.1, 31.1]]}},
            "body.location.type",
            "Point",
        ),
        ({"footprint": {"type": "Point", "coordinates": [117, 31]}}, "body.footprint", "Polygon"),
        ({"admin_code": "349999"}, "admin_code", "not a known"),
        ({"admin_code": "34010"}, "body.admin_code", "pattern"),
        ({"capacity_persons": 12001}, "capacity_persons", "1.5 persons per m²"),
        ({"usable_area": 13000}, "usable_area", "exceeds building_area"),
        ({"construction_form": "standalone"}, "standalone_type", "required"),
        ({"wartime_subtype": "aid_station"}, "wartime_subtype", "not a kind of"),
        ({"keyholder_phone": "call me"}, "body.keyholder_phone", "pattern"),
        ({"verified_at": "2099-01-01T00:00:00Z"}, "verified_at", "future"),
        # 1 BC in UTC, which Python could not read back
        ({"verified_at": "0001-01-01T00:00:00+14:00"}, "body.verified_at", "1900-01-01"),
        ({"verified_at": "1900-01-01T07:59:59+08:00"}, "body.verified_at", "2100-12-31 (UTC)"),
        ({"verified_at": "2999-01-01T00:00:00Z"}, "body.verified_at", "2100-12-31 (UTC)"),
        ({"name": "天鹅湖\u0000车库"}, "body.name", "NUL"),
        ({"address": "\u0000"}, "body.address", "NUL"),
        (
            {
                "entrances": [
                    {
                        "kind": "vehicle",
                        "name": "1号\u0000口",
                        "location": {"type": "Point", "coordinates": [117.2285, 31.8264]},
                    }
                ]
            },
            "body.entrances.0.name",
            "NUL",
        ),
        ({"verified_at": "2024-01-01T00:00:00"}, "body.verified_at", "timezone"),
        ({"colour": "red"}, "body.colour", "Extra inputs"),
        ({"status": "open"}, "body.status", "in_service"),
    ],
)
def test_bad_input_is_a_422_naming_the_field(client, payload, overrides, field, fragment):
    response = client.post("/v1/facilities", json=payload(**overrides))
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["status"] == 422
    assert field in problem_fields(response)
    assert fragment in body["detail"]


def test_missing_required_field(client, payload):
    body = payload()
    del body["location"]
    response = client.post("/v1/facilities", json=body)
    assert response.status_code == 422
    assert problem_fields(response) == ["body.location"]


def test_malformed_json(client):
    response = client.post(
        "/v1/facilities", content=b'{"code": ', headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM


def test_duplicate_code_is_409_and_writes_nothing(client, payload, connection):
    assert client.post("/v1/facilities", json=payload()).status_code == 201
    response = client.post("/v1/facilities", json=payload(name="另一个"))
    assert response.status_code == 409
    assert "RF-340104-T000001" in response.json()["detail"]
    count = connection.scalar(
        text("SELECT count(*) FROM facility WHERE code = 'RF-340104-T000001'")
    )
    assert count == 1


def test_patch_to_a_taken_code_is_409(client, create):
    first, second = create(), create()
    response = client.patch(
        headers=ANY_VERSION, url=f"/v1/facilities/{second['id']}", json={"code": first["code"]}
    )
    assert response.status_code == 409


def test_patch_may_not_null_a_required_field(client, create):
    facility = create()
    response = client.patch(
        headers=ANY_VERSION, url=f"/v1/facilities/{facility['id']}", json={"name": None}
    )
    assert response.status_code == 422
    assert problem_fields(response) == ["body.name"]


def test_failed_patch_changes_nothing(client, create):
    facility = create()
    response = client.patch(
        headers=ANY_VERSION,
        url=f"/v1/facilities/{facility['id']}",
        json={"name": "新名字", "entrances": [], "capacity_persons": 999999},
    )
    assert response.status_code == 422
    assert client.get(f"/v1/facilities/{facility['id']}").json() == facility


RANGE = "must lie between 1900-01-01 and 2100-12-31 (UTC)"


@pytest.mark.parametrize(
    "moment", ["0001-01-01T00:00:00+14:00", "1899-12-31T23:59:59Z", "2101-01-01T00:00:00Z"]
)
def test_verified_at_outside_the_range_leaves_the_facility_as_it_was(client, create, moment):
    facility = create()
    url = f"/v1/facilities/{facility['id']}"
    for response in (
        client.patch(url, headers=ANY_VERSION, json={"verified_at": moment}),
        client.post(f"{url}/verification", json={"verified_at": moment}),
    ):
        assert response.status_code == 422, response.text
        assert problem_fields(response) == ["body.verified_at"]
        assert response.json()["errors"][0]["message"] == RANGE
    assert client.get(url).json() == facility
    assert client.patch(url, headers=ANY_VERSION, json={"name": "新名字"}).status_code == 200
    assert client.post(f"{url}/verification", json={}).status_code == 200


def test_verified_at_on_the_first_instant_of_the_range(client, create):
    facility = create(verified_at="1900-01-01T08:00:00+08:00")
    assert datetime.fromisoformat(facility["verified_at"]) == datetime(1900, 1, 1, tzinfo=UTC)


def test_a_stored_time_from_before_the_range_check_is_named_until_replaced(
    client, create, connection
):
    facility = create()
    url = f"/v1/facilities/{facility['id']}"
    write_past_range_check(connection, "facility", "verified_at", facility["id"], "1850-05-10Z")
    response = client.patch(url, headers=ANY_VERSION, json={"name": "新名字"})
    assert response.status_code == 422, response.text
    assert problem_fields(response) == ["verified_at"]
    assert response.json()["errors"][0]["message"] == f"{RANGE} (the stored value: send a new one)"
    fixed = client.patch(
        url,
        headers=ANY_VERSION,
        json={"name": "新名字", "verified_at": "2024-06-01T09:00:00+08:00"},
    )
    assert fixed.status_code == 200, fixed.text
    assert fixed.json()["name"] == "新名字"


def test_as_of_outside_the_range(client, create):
    facility = create()
    response = client.get(
        f"/v1/facilities/{facility['id']}", params={"as_of": "0001-01-01T00:00:00+14:00"}
    )
    assert response.status_code == 422
    assert problem_fields(response) == ["query.as_of"]


NUL = "contains a NUL character (\\u0000), which text cannot hold"


def test_a_nul_in_a_query_or_path_parameter_is_named(client, create):
    for url, params, field in (
        ("/v1/facilities", {"q": "天鹅湖\x00"}, "query.q"),
        ("/v1/facilities", {"q": "天鹅湖", "status\x00": "x"}, "query.status\x00"),
        ("/v1/divisions/3401%000", {}, "path.code"),
    ):
        response = client.get(url, params=params)
        assert response.status_code == 422, response.text
        assert response.json()["errors"] == [{"field": field, "message": NUL}]
    assert client.get("/v1/facilities", params={"q": "天鹅湖"}).status_code == 200


def test_oversized_body_is_413(client, payload):
    body = payload(data_source="x" * 200)
    body["entrances"] = body["entrances"] * 20000
    response = client.post("/v1/facilities", json=body)
    assert response.status_code == 413
    assert response.headers["content-type"] == PROBLEM


def test_oversized_chunked_body_is_413(client):
    def chunks():
        for _ in range(2000):
            yield b" " * 1024

    response = client.post(
        "/v1/facilities", content=chunks(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 413
    assert response.headers["content-type"] == PROBLEM


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"cursor": "bm9wZQ"}, 400),
        ({"cursor": "!!"}, 400),
        ({"bbox": "1,2,3"}, 422),
        ({"bbox": "118,31,117,32"}, 422),
        ({"bbox": "117,31,118,95"}, 422),
        ({"admin_code": "999999"}, 422),
        ({"limit": 1001}, 422),
        ({"min_capacity": 2147483648}, 422),
        ({"limit": 0}, 422),
        ({"status": "open"}, 422),
        ({"f": "kml"}, 422),
    ],
)
def test_bad_list_parameters(client, params, status):
    response = client.get("/v1/facilities", params=params)
    assert response.status_code == status
    assert response.headers["content-type"] == PROBLEM


def test_out_of_range_id_is_422(client):
    assert client.get("/v1/facilities/99999999999999999999").status_code == 422
    assert client.get("/v1/facilities/0").status_code == 422
