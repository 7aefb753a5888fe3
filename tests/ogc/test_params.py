"""What the items resource takes: its parameters, public properties as plain query
parameters, and 400 for anything else."""

import pytest

from tests.ogc.test_items import EPSG, ITEMS, LAT, LON, ids, link, point


@pytest.fixture
def works(create):
    """Three works: two in service (capacities 100 and 200), one suspended."""
    made = [
        create(
            location=point(LON + i * 0.001, LAT),
            capacity_persons=100 * (i + 1),
            shelter_area=100 * (i + 1),
            status=status,
        )
        for i, status in enumerate(["in_service", "in_service", "suspended"])
    ]
    return [work["id"] for work in made]


@pytest.mark.parametrize("name", ["offset", "page", "startindex", "bbox_crs", "Status"])
def test_an_unknown_parameter_is_400_naming_it(public_client, works, name):
    response = public_client.get(ITEMS, params={name: "10"})
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["detail"].startswith(f"{name}: unknown query parameter")


def test_a_property_as_a_parameter_selects_by_value(public_client, works):
    first, second, suspended = works
    assert ids(public_client.get(ITEMS, params={"status": "suspended"})) == [suspended]
    assert ids(public_client.get(ITEMS, params={"capacity_persons": "200"})) == [second]
    both = {"status": "in_service", "wartime_function": "personnel_shelter"}
    assert sorted(ids(public_client.get(ITEMS, params=both))) == [first, second]
    assert (
        ids(public_client.get(ITEMS, params={"status": "in_service", "capacity_persons": 300}))
        == []
    )


def test_pages_keep_the_property_parameters(public_client, works):
    first, second, _ = works
    page = public_client.get(ITEMS, params={"status": "in_service", "limit": 1})
    assert ids(page) == [first]
    following = public_client.get(link(page.json(), "next"))
    assert ids(following) == [second] and link(following.json(), "next") is None


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"status": "sunk"}, "status"),
        ({"capacity_persons": "many"}, "capacity_persons"),
        ({"capacity_persons": "1e400"}, "capacity_persons"),
        ({"building_area": "nan"}, "building_area"),
        ({"entrances": "[]"}, "entrances"),
        ({"geometry": "POINT(1 2)"}, "geometry"),
    ],
)
def test_a_bad_property_value_is_400_naming_it(public_client, params, named):
    response = public_client.get(ITEMS, params=params)
    assert response.status_code == 400, response.text
    assert response.json()["detail"].startswith(f"{named}:")


def test_a_repeated_property_parameter_is_400(public_client, works):
    response = public_client.get(f"{ITEMS}?status=in_service&status=suspended")
    assert response.status_code == 400
    assert "status" in response.json()["detail"]


def test_restricted_properties_are_parameters_only_for_who_reads_them(
    public_client, client_for, create
):
    made = create(location=point(LON, LAT), keyholder_phone="13900000001")["id"]
    params = {"keyholder_phone": "13900000001"}
    assert public_client.get(ITEMS, params=params).status_code == 400
    assert ids(client_for("gis").get(ITEMS, params=params)) == [made]


def test_boolean_properties_take_true_and_false(public_client, create):
    made = create(
        location=point(LON, LAT),
        entrances=[{"kind": "pedestrian", "accessible": True, "location": point(LON, LAT)}],
    )
    url = "/ogc/collections/entrances/items"
    found = public_client.get(url, params={"accessible": "true"}).json()["features"]
    assert [f["properties"]["facility_id"] for f in found] == [made["id"]]
    assert ids(public_client.get(url, params={"accessible": "false"})) == []
    assert public_client.get(url, params={"accessible": "yes"}).status_code == 400


def test_one_feature_takes_only_its_parameters(public_client, works):
    url = f"{ITEMS}/{works[0]}"
    assert public_client.get(url, params={"crs": EPSG + "4490"}).status_code == 200
    response = public_client.get(url, params={"limit": 5})
    assert response.status_code == 400 and response.json()["detail"].startswith("limit:")


@pytest.mark.parametrize(
    "path",
    [
        "/ogc/collections/facilities/items?limit=abc",
        "/ogc/collections/facilities/items?f=xml",
        f"/ogc/collections/{'x' * 101}",
        "/ogc/collections/facilities/tiles/WebMercatorQuad/3/a/0",
        "/ogc/api?x=%00",
    ],
)
def test_parameter_errors_under_ogc_are_400_not_422(public_client, path):
    response = public_client.get(path)
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["errors"]


@pytest.mark.parametrize("code", ["4490", "3857", "4326"])
def test_geometries_carry_no_crs_member(public_client, works, code):
    page = public_client.get(ITEMS, params={"crs": EPSG + code})
    assert page.headers["content-crs"] == f"<{EPSG}{code}>"
    for feature in page.json()["features"]:
        assert set(feature["geometry"]) == {"type", "coordinates"}
    one = public_client.get(f"{ITEMS}/{works[0]}", params={"crs": EPSG + code}).json()
    assert set(one["geometry"]) == {"type", "coordinates"}
