"""Landing page, conformance, OpenAPI, collections and queryables: what a client reads
before it asks for a feature."""

import json
import re

from app.ogc import tiles
from app.ogc.collections import COLLECTIONS

FEATURES = "http://www.opengis.net/spec/ogcapi-features-"
COLLECTION_IDS = ["facilities", "shelters", "parking", "entrances", "signage"]


def rels(document: dict) -> dict[str, str]:
    """The first link of each relation: JSON comes before HTML."""
    found: dict[str, str] = {}
    for link in document["links"]:
        found.setdefault(link["rel"], link["href"])
    return found


def test_the_landing_page_links_everything_a_client_needs(public_client):
    response = public_client.get("/ogc")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    links = rels(response.json())
    assert links["service-desc"].endswith("/ogc/api")
    assert links["conformance"].endswith("/ogc/conformance")
    assert links["data"].endswith("/ogc/collections")
    assert links["http://www.opengis.net/def/rel/ogc/1.0/tiling-schemes"].endswith(
        "/ogc/tileMatrixSets"
    )


def test_conformance_declares_features_crs_filtering_and_tiles(public_client):
    declared = set(public_client.get("/ogc/conformance").json()["conformsTo"])
    for part in (
        "1/1.0/conf/core",
        "1/1.0/conf/geojson",
        "1/1.0/conf/html",
        "1/1.0/conf/oas30",
        "2/1.0/conf/crs",
        "3/1.0/conf/filter",
        "3/1.0/conf/features-filter",
    ):
        assert FEATURES + part in declared
    assert "http://www.opengis.net/spec/cql2/1.0/conf/advanced-comparison-operators" in declared
    assert set(tiles.CONFORMANCE) <= declared


def test_html_for_browsers_json_for_everyone_else(public_client):
    as_browser = public_client.get("/ogc/collections", headers={"Accept": "text/html,*/*"})
    assert as_browser.headers["content-type"].startswith("text/html")
    assert "<h1>Collections</h1>" in as_browser.text
    assert public_client.get("/ogc/collections", params={"f": "html"}).text.startswith(
        "<!DOCTYPE html>"
    )
    forced = public_client.get(
        "/ogc/collections", params={"f": "json"}, headers={"Accept": "text/html"}
    )
    assert forced.headers["content-type"] == "application/json"
    assert public_client.get("/ogc/collections", params={"f": "xml"}).status_code == 400


def test_html_escapes_what_it_shows(client, create, public_client):
    create(name="<script>alert(1)</script>")
    page = public_client.get("/ogc/collections/facilities/items", params={"f": "html"}).text
    assert "<script>" not in page and "&lt;script&gt;" in page


def test_the_api_document_is_openapi_30_for_the_ogc_paths(public_client):
    response = public_client.get("/ogc/api")
    assert response.headers["content-type"].startswith("application/vnd.oai.openapi+json")
    document = response.json()
    assert document["openapi"] == "3.0.3"
    # Paths are relative to the OGC API's root, as clients (GDAL) look them up.
    assert document["servers"] == [{"url": "/ogc"}]
    assert "/collections/{collection_id}/items" in document["paths"]
    assert not any(path.startswith("/ogc") for path in document["paths"])
    assert "/v1/facilities" not in document["paths"]
    text = json.dumps(document)
    assert '{"type": "null"}' not in text
    for name in re.findall(r"#/components/schemas/([^\"]+)", text):
        assert name in document["components"]["schemas"]
    limit = next(
        p
        for p in document["paths"]["/collections/{collection_id}/items"]["get"]["parameters"]
        if p["name"] == "limit"
    )
    assert limit["schema"]["maximum"] == 10_000 and limit["schema"]["default"] == 10


def test_the_collections_are_the_published_five(public_client):
    body = public_client.get("/ogc/collections").json()
    assert [c["id"] for c in body["collections"]] == COLLECTION_IDS
    for collection in body["collections"]:
        assert collection["itemType"] == "feature"
        assert collection["storageCrs"] == "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
        assert "http://www.opengis.net/def/crs/EPSG/0/4490" in collection["crs"]
        links = rels(collection)
        assert links["items"].endswith(f"/ogc/collections/{collection['id']}/items?f=json")
        assert links["http://www.opengis.net/def/rel/ogc/1.0/queryables"]
        assert links["http://www.opengis.net/def/rel/ogc/1.0/tilesets-vector"].endswith(
            f"/ogc/collections/{collection['id']}/tiles"
        )


def test_one_collection_and_an_unknown_one(public_client):
    assert public_client.get("/ogc/collections/parking").json()["id"] == "parking"
    missing = public_client.get("/ogc/collections/bunkers")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    assert "bunkers" in missing.json()["detail"]


def test_queryables_are_typed_and_follow_the_role(public_client, client_for):
    url = "/ogc/collections/facilities/queryables"
    public = public_client.get(url)
    assert public.headers["content-type"] == "application/schema+json"
    properties = public.json()["properties"]
    assert properties["capacity_persons"]["type"] == "integer"
    assert properties["building_area"]["type"] == "number"
    assert properties["updated_at"] == {
        "title": "Last updated",
        "type": "string",
        "format": "date-time",
    }
    assert properties["status"]["enum"][0] == "planned"
    assert properties["geometry"]["format"] == "geometry-point"
    assert "keyholder_phone" not in properties and "nuclear_level" not in properties
    gis = client_for("gis").get(url).json()["properties"]
    assert gis["keyholder_phone"]["type"] == "string"
    assert set(gis) - set(properties) == {
        name for name, column in COLLECTIONS["facilities"].columns.items() if column.restricted
    }
    assert (
        "entrances"
        not in public_client.get("/ogc/collections/shelters/queryables").json()["properties"]
    )


def test_the_api_declares_each_collections_property_parameters(public_client):
    document = public_client.get("/ogc/api").json()
    operation = document["paths"]["/collections/facilities/items"]["get"]
    parameters = {p["name"]: p for p in operation["parameters"]}
    assert parameters["status"]["in"] == "query"
    assert parameters["status"]["schema"]["enum"][0] == "planned"
    assert parameters["capacity_persons"]["schema"] == {"type": "integer"}
    assert {"limit", "bbox", "filter", "cursor"} <= set(parameters)
    # Restricted properties are not public parameters; a path parameter has no place here.
    assert "keyholder_phone" not in parameters and "collection_id" not in parameters
    assert "accessible" in {
        p["name"] for p in document["paths"]["/collections/entrances/items"]["get"]["parameters"]
    }
    operation_ids = [
        op["operationId"] for item in document["paths"].values() for op in item.values()
    ]
    assert len(operation_ids) == len(set(operation_ids))


def test_extents_come_from_the_visible_data(public_client, create):
    create(location={"type": "Point", "coordinates": [117.1, 31.7]})
    create(location={"type": "Point", "coordinates": [117.3, 31.9]})
    # A work hidden from the public widens no public extent.
    create(location={"type": "Point", "coordinates": [118.5, 32.5]}, visibility="restricted")
    bbox = public_client.get("/ogc/collections/facilities").json()["extent"]["spatial"]["bbox"]
    assert bbox == [[117.1, 31.7, 117.3, 31.9]]
    listed = public_client.get("/ogc/collections").json()["collections"]
    assert listed[0]["extent"]["spatial"]["bbox"] == bbox
    tilejson = public_client.get(
        "/ogc/collections/facilities/tiles/WebMercatorQuad/tilejson.json"
    ).json()
    assert tilejson["bounds"] == [117.1, 31.7, 117.3, 31.9]
    # No car park registered: no extent to give.
    assert "extent" not in public_client.get("/ogc/collections/parking").json()


def test_the_schema_has_every_property_the_caller_sees(public_client, client_for):
    url = "/ogc/collections/facilities/schema"
    response = public_client.get(url)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/schema+json"
    schema = response.json()
    properties = schema["properties"]
    assert properties["id"]["x-ogc-role"] == "id"
    assert properties["geometry"]["x-ogc-role"] == "primary-geometry"
    assert properties["updated_at"]["x-ogc-role"] == "primary-instant"
    assert properties["capacity_persons"]["type"] == "integer"
    assert "keyholder_phone" not in properties
    assert client_for("gis").get(url).json()["properties"]["keyholder_phone"]["type"] == "string"
    entrances = public_client.get("/ogc/collections/shelters/schema").json()["properties"]
    assert entrances["entrances"]["type"] == "array"
    links = rels(public_client.get("/ogc/collections/facilities").json())
    assert links["http://www.opengis.net/def/rel/ogc/1.0/schema"].endswith(url)
    assert public_client.get("/ogc/collections/bunkers/schema").status_code == 404


def test_html_pages_link_their_json_forms_and_draw_the_features(public_client, create):
    made = create()
    page = public_client.get("/ogc/collections/facilities/items", params={"f": "html"}).text
    assert '<link rel="alternate" type="application/geo+json"' in page
    assert "f=json" in page and "<svg" in page and "<circle" in page
    assert f"/ogc/collections/facilities/items/{made['id']}?f=html" in page
    # Drawn here: nothing is loaded from elsewhere and no script runs.
    assert "<script" not in page and "http://www.w3.org/2000/svg" in page
    assert page.count("src=") == 0
    collection = public_client.get("/ogc/collections/facilities", params={"f": "html"}).text
    assert '<link rel="alternate" type="application/json"' in collection
    assert "<circle" in collection
    one = public_client.get(f"/ogc/collections/facilities/items/{made['id']}?f=html").text
    assert '<link rel="alternate" type="application/geo+json"' in one and "<circle" in one
    landing = public_client.get("/ogc", params={"f": "html"}).text
    assert '<link rel="alternate" type="application/json" href="http://testserver/ogc?f=json">' in (
        landing
    )


def test_every_collections_html_page_draws_its_sample(public_client, create):
    """The sample a collection's page draws reads the live figures (shelter status,
    parking occupancy) with the same staleness ages as the items."""
    create()
    for collection_id in COLLECTION_IDS:
        response = public_client.get(f"/ogc/collections/{collection_id}", params={"f": "html"})
        assert response.status_code == 200, (collection_id, response.text[:300])
        assert response.headers["content-type"].startswith("text/html")
