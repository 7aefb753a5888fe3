import base64
import json

import pytest

from app.core.jsonbody import MAX_DEPTH, nests_deeper

PROBLEM = "application/problem+json"


def nested(depth: int) -> bytes:
    return b"[" * depth + b"1" + b"]" * depth


@pytest.mark.parametrize(
    ("data", "deeper"),
    [
        (nested(MAX_DEPTH), False),
        (nested(MAX_DEPTH + 1), True),
        (json.dumps({"a": [{"b": [1, 2]}, {"c": "[[[[[[]"}]}).encode(), False),
        # Brackets inside strings, escaped quotes included, do not count.
        (json.dumps({"s": '\\"' + "[" * 500}).encode(), False),
        (b"[" * 100_000, True),  # unbalanced, and would nest that deep
        (b"[}", False),  # not JSON, but shallow: the parser says what is wrong
        (b'{"type": "Point", "coordinates": [117.2, 31.8]}', False),
    ],
)
def test_nesting_is_measured_outside_strings(data, deeper):
    assert nests_deeper(data) is deeper


def test_a_deep_body_is_a_400_naming_it(client, payload):
    body = json.dumps(payload(location={"type": "Point", "coordinates": "deep"}))
    body = body.replace('"deep"', nested(3000).decode())
    answer = client.post(
        "/v1/facilities", content=body, headers={"Content-Type": "application/json"}
    )
    assert answer.status_code == 400
    assert answer.headers["content-type"] == PROBLEM
    assert answer.json()["detail"] == f"body: JSON nested deeper than {MAX_DEPTH} levels"
    # Sent as raw bytes too, as a client that builds JSON by hand would.
    raw = client.post(
        "/v1/facilities", content=b"[" * 100_000, headers={"Content-Type": "application/json"}
    )
    assert raw.status_code == 400 and "nested deeper" in raw.json()["detail"]


def test_a_deep_population_file_is_a_400(client):
    for media in ("application/geo+json", "text/plain"):
        answer = client.post(
            "/v1/planning/population-layers",
            params={"name": "deep", "format": "geojson"},
            content=b"[" * 100_000,
            headers={"Content-Type": media},
        )
        assert answer.status_code == 400, answer.text
        assert answer.headers["content-type"] == PROBLEM
        assert "nested deeper" in answer.json()["detail"]


def test_a_deep_cursor_or_filter_is_a_400(public_client):
    cursor = base64.urlsafe_b64encode(nested(100)).decode().rstrip("=")
    answer = public_client.get("/ogc/collections/shelters/items", params={"cursor": cursor})
    assert answer.status_code == 400 and "cursor" in answer.json()["detail"]
    answer = public_client.get(
        "/ogc/collections/shelters/items",
        params={"filter-lang": "cql2-json", "filter": "[" * 5000},
    )
    assert answer.status_code == 400 and "filter" in answer.json()["detail"]


def test_a_deep_import_mapping_is_a_400(client):
    answer = client.post(
        "/v1/imports",
        params={"filename": "x.csv", "mapping": "[" * 1000},
        content=b"code\n",
        headers={"Content-Type": "application/octet-stream"},
    )
    assert answer.status_code == 400
    assert answer.json()["detail"] == f"mapping: JSON nested deeper than {MAX_DEPTH} levels"
