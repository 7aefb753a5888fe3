"""Every GET route of both API documents (the app's /openapi.json and the OGC API's
/ogc/api), walked by callers who may not see restricted works, with the restricted work's
ids in every path parameter that takes one: no answer may show the work, anything that
hangs off it, or a wartime entrance; and a route that names the work answers as it does
for an id that does not exist."""

from typing import Any

import morecantile
import pytest

from app.core.geo import CoordSys, position_from_wgs84
from app.db.replicas import Reads
from app.main import create_app
from app.ogc.collections import COLLECTIONS
from app.ogc.tiles.matrix import TILE_SETS, WEB_MERCATOR
from tests.media.test_photos import encoded
from tests.tiles.test_router import MVT, decode

NOWHERE = 9_000_000_000_000_000_000
WMQ = morecantile.tms.get("WebMercatorQuad")


def point(lon: float, lat: float) -> dict[str, Any]:
    return {"type": "Point", "coordinates": [lon, lat]}


# The restricted work and what hangs off it: every name and position is one of a kind,
# so that finding it in an answer (as text) means the answer shows it.
SECRET = {
    "code": "RF-SECRET-0001",
    "name": "机要指挥所甲",
    "address": "合肥市蜀山区保密路9号",
    "location": point(117.2284321, 31.8259876),
    "entrances": [
        {"kind": "vehicle", "name": "秘密车道乙", "location": point(117.2285432, 31.8260765)},
        {"kind": "wartime", "name": "秘密战时口丙", "location": point(117.2286543, 31.8261234)},
    ],
    "wartime_function": "command_post",
    "wartime_subtype": None,
}
SECRET_USE = "秘密车库丁"
SECRET_SIGN = "秘密标识戊"
# A public work's wartime entrance, and a public work whose only entrance is a wartime one.
PUBLIC_WARTIME = {
    "kind": "wartime",
    "name": "战时暗口己",
    "location": point(117.2279871, 31.8260123),
}
LONE_WARTIME = {
    "kind": "wartime",
    "name": "孤立战时口庚",
    "location": point(117.2283456, 31.8257891),
}
MARKERS = (
    SECRET["code"],
    SECRET["name"],
    SECRET["address"],
    SECRET_USE,
    SECRET_SIGN,
    *(str(coordinate) for coordinate in SECRET["location"]["coordinates"]),
    *(e["name"] for e in SECRET["entrances"]),
    *(str(c) for e in SECRET["entrances"] for c in e["location"]["coordinates"]),
    *(str(c) for e in (PUBLIC_WARTIME, LONE_WARTIME) for c in e["location"]["coordinates"]),
    PUBLIC_WARTIME["name"],
    LONE_WARTIME["name"],
)
PARKING = {"type": "parking", "opening_hours": "24/7", "attributes": {"total_spaces": 50}}
COOL_SPOT = {
    "type": "cool_spot",
    "opening_hours": "24/7",
    "attributes": {"season_start": "01-01", "season_end": "12-31", "seats": 20},
}


@pytest.fixture
def app(app, settings):
    """The suite's app, with room for a walk of several hundred anonymous requests."""
    walker = create_app(settings.model_copy(update={"anonymous_burst": 100_000}))
    walker.state.sessionmaker = app.state.sessionmaker
    walker.state.reads = Reads(app.state.sessionmaker)
    return walker


@pytest.fixture
def world(client, create, payload) -> dict[str, Any]:
    """A public work with a wartime entrance, a public work reached only through a wartime
    entrance, and a restricted work with a car park, a cool spot, a sign with a photo and
    a problem report: the ids and numbers the walk needs."""
    public = create(entrances=[*payload()["entrances"], PUBLIC_WARTIME])
    lone = create(location=point(117.2282, 31.8258), entrances=[LONE_WARTIME])
    response = client.post("/v1/facilities", json=payload(**SECRET))
    assert response.status_code == 201, response.text
    secret = response.json()
    assert secret["visibility"] == "restricted"
    base = f"/v1/facilities/{secret['id']}"
    for work in (public, lone):
        for use in (PARKING, COOL_SPOT):
            assert client.post(f"/v1/facilities/{work['id']}/uses", json=use).status_code == 201
    use = client.post(f"{base}/uses", json={**PARKING, "name": SECRET_USE}).json()
    client.post(f"{base}/uses", json={**COOL_SPOT, "name": SECRET_USE})
    photo = client.post(
        "/v1/media/photos", content=encoded("PNG"), headers={"Content-Type": "image/png"}
    ).json()["sha256"]
    sign = client.post(
        f"{base}/signs",
        json={
            "kind": "identification_plaque",
            "status": "damaged",
            "description": SECRET_SIGN,
            "photos": [photo],
        },
    ).json()
    report = client.post(f"{base}/reports", json={"kind": "locked"}).json()
    entrances = {e["kind"]: e["id"] for e in secret["entrances"]}
    wartime_ids = {
        entrances["wartime"],
        *(e["id"] for w in (public, lone) for e in w["entrances"] if e["kind"] == "wartime"),
    }
    feature_ids = {
        "facilities": [secret["id"]],
        "shelters": [secret["id"]],
        "signage": [secret["id"]],
        "parking": [use["id"]],
        "entrances": [entrances["vehicle"], *wartime_ids],
    }
    assert set(feature_ids) == set(COLLECTIONS)
    return {
        "public": public,
        "secret": secret,
        "wartime_ids": wartime_ids,
        "feature_ids": feature_ids,
        "path": {
            "facility_id": secret["id"],
            "use_id": use["id"],
            "sign_id": sign["id"],
            "report_id": report["id"],
            "digest": photo,
            "code": "340104",
            "key_id": 1,
            "job_id": 1,
            "layer_id": 1,
            "campaign_id": 1,
            "alert_id": 1,
            "webhook_id": 1,
            "delivery_id": 1,
            "day": "2026-10-01",
        },
    }


# Required query parameters, and more queries per route that would find the work if the
# rule failed somewhere.
LON, LAT = SECRET["location"]["coordinates"]
# Beside the work, not on it: nearby answers echo their centre.
REQUIRED = {
    "lon": LON + 0.0001,
    "lat": LAT + 0.0001,
    "type": "parking",
    "within_hours": 24,
    "year": 2026,
}
AROUND = f"{LON - 0.01},{LAT - 0.01},{LON + 0.01},{LAT + 0.01}"
QUERIES: dict[str, list[dict[str, Any]]] = {
    "/v1/facilities": [
        {"q": SECRET["name"]},
        {"visibility": "restricted", "f": "geojson"},
        {"wartime_function": "command_post", "bbox": AROUND, "limit": 1000},
    ],
    "/v1/parking/nearby": [{"radius": 200, "limit": 200, "coordsys": "gcj02"}],
    "/v1/uses/nearby": [{"type": "cool_spot", "radius": 200, "open_now": "true"}],
    "/ogc/collections/{collection_id}/items": [
        {"bbox": AROUND, "limit": 1000},
        {"f": "html", "limit": 1000},
        {"sortby": "-id", "crs": "http://www.opengis.net/def/crs/EPSG/0/4490"},
    ],
    "/ogc/collections/{collection_id}/items/{feature_id}": [{"f": "html"}],
    "/v1/stats": [{"by": "district", "admin_code": "340100"}, {"f": "csv", "by": "year"}],
    "/v1/signage/incomplete": [{"admin_code": "340104"}],
    "/v1/signage/progress": [{"admin_code": "340100"}],
    "/v1/reports/statistics": [{"admin_code": "340100"}],
    "/v1/export": [{"format": "csv"}],
}
TILE_ZOOMS = (16, 14)


EVENTS = "text/event-stream"


def routes(client) -> dict[str, dict[str, Any]]:
    """GET operations of both documents, by path."""
    found: dict[str, dict[str, Any]] = {}
    for url in ("/openapi.json", "/ogc/api"):
        document = client.get(url).json()
        # /ogc/api's paths are relative to its server, /ogc.
        root = document.get("servers", [{"url": ""}])[0]["url"]
        for path, item in document["paths"].items():
            # An event stream never ends; it carries alerts, no work (tests/alerts).
            if "get" in item and EVENTS not in str(item["get"].get("responses", {})):
                found[(root + path).rstrip("/") or "/"] = item["get"]
    return found


def requests(path: str, operation: dict[str, Any], world: dict[str, Any]) -> list[tuple[str, dict]]:
    """(url, query) pairs for the operation: each collection, and for items each of the
    work's features; the restricted work's ids everywhere else."""
    query = {}
    for parameter in operation.get("parameters", []):
        name = parameter["name"]
        if parameter["in"] == "query" and parameter.get("required"):
            assert name in REQUIRED, f"{path}: no value for the required query {name!r}"
            query[name] = REQUIRED[name]
        if parameter["in"] == "path":
            assert name in {
                *world["path"],
                "collection_id",
                "feature_id",
                "tile_matrix_set",
                "z",
                "x",
                "y",
            }, f"{path}: no value for the path parameter {name!r}"
    queries = [query, *({**query, **extra} for extra in QUERIES.get(path, []))]
    collections = list(COLLECTIONS) if "{collection_id}" in path else [None]
    tile_sets = list(TILE_SETS.values()) if "{tile_matrix_set}" in path else [WEB_MERCATOR]
    found = []
    for collection in collections:
        values: dict[str, Any] = dict(world["path"])
        features = world["feature_ids"][collection] if collection else [None]
        for tile_set in tile_sets:
            tiles = _tiles(tile_set.coordsys) if "{z}" in path else [{}]
            for feature in features:
                for tile in tiles:
                    values |= {
                        "collection_id": collection,
                        "feature_id": feature,
                        "tile_matrix_set": tile_set.id,
                        **tile,
                    }
                    url = path.format(**values)
                    found += [(url, q) for q in queries]
    return found


def _tiles(coordsys: CoordSys) -> list[dict[str, int]]:
    """The tiles that would draw the works, at their position in the tile set's system."""
    lon, lat = position_from_wgs84(LON, LAT, coordsys)
    tiles = []
    for z in TILE_ZOOMS:
        t = WMQ.tile(lon, lat, z)
        tiles.append({"z": z, "x": t.x, "y": t.y})
    return tiles


def shows_secret(value: Any, world: dict[str, Any]) -> str | None:
    """What in a decoded JSON answer shows the restricted work or a wartime entrance."""
    if isinstance(value, dict):
        if value.get("facility_id") == world["secret"]["id"]:
            return f"facility_id in {value}"
        if value.get("kind") == "wartime":
            return f"a wartime entrance: {value}"
        return next((s for v in value.values() if (s := shows_secret(v, world))), None)
    if isinstance(value, list):
        return next((s for v in value if (s := shows_secret(v, world))), None)
    return None


def check_tile(tmp_path, url: str, body: bytes, world: dict[str, Any]) -> None:
    layers = decode(tmp_path, url, body)
    collection = url.split("/")[3]
    for name, layer in layers.items():
        for row in layer["rows"]:
            assert SECRET["name"] not in str(row.get("name")), (url, row)
            assert row.get("facility_id") != world["secret"]["id"], (url, row)
            assert row.get("kind") != "wartime", (url, row)
            if name in ("facilities", "shelters", "signage"):
                assert row["id"] != world["secret"]["id"], (url, row)
            if name == "entrances":
                assert row["id"] not in world["wartime_ids"], (url, row)
    # The tile was read: the public work is on it (a feature, or a cluster of one).
    if collection in ("facilities", "shelters", "signage"):
        rows = next(iter(layers.values()))["rows"]
        public = world["public"]["id"]
        assert [r.get("id", public) for r in rows].count(public) >= 1, (url, rows)


@pytest.mark.parametrize("who", ["anonymous", "operator_out", "manager_out"])
def test_no_route_shows_a_restricted_work_to_callers_who_may_not_see_it(
    client_for, world, who, tmp_path
):
    scope = {
        "anonymous": (None, {}),
        "operator_out": ("operator", {"facility_ids": [world["public"]["id"]]}),
        "manager_out": ("manager", {"admin_codes": ["340111"]}),
    }
    role, kwargs = scope[who]
    caller = client_for(role, **kwargs)
    walked = 0
    for path, operation in routes(caller).items():
        for url, query in requests(path, operation, world):
            response = caller.get(url, params=query)
            walked += 1
            assert response.status_code < 500, (url, query, response.text)
            media = response.headers.get("content-type", "")
            if media.startswith(MVT):
                check_tile(tmp_path, url, response.content, world)
            elif media.startswith(("application/", "text/")):
                text = response.text
                leaked = [marker for marker in MARKERS if marker in text]
                assert not leaked, (url, query, leaked)
                if "json" in media:
                    shown = shows_secret(response.json(), world)
                    assert shown is None, (url, query, shown)
            if "{facility_id}" in path:
                nowhere = caller.get(url.replace(str(world["secret"]["id"]), str(NOWHERE), 1))
                assert response.status_code == nowhere.status_code, (url, response.text)
                assert response.status_code in (401, 403, 404), (url, response.text)
            elif "{feature_id}" in path or "{report_id}" in path or "{sign_id}" in path:
                assert response.status_code == 404, (url, response.text)
    assert walked > 150
