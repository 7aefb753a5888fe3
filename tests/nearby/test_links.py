import json
from urllib.parse import parse_qs, quote, unquote, urlsplit

import pytest
from sqlalchemy import text as text_sql

from app.core.navigation import navigation_json, uri_component


@pytest.mark.parametrize(
    "text",
    [
        "".join(map(chr, range(128))),  # every ASCII character, reserved or not
        "合肥市蜀山区春江花园西区人防工程（地下车库）",
        "万达广场2号地下车库 B-1_停车场.~",
        "😀 rf-registry",
        "",
    ],
)
def test_names_are_percent_encoded_as_urllib_does(text):
    assert uri_component(text) == quote(text, safe="")
    assert unquote(uri_component(text)) == text


@pytest.mark.parametrize(("driving", "mode"), [(True, "driving"), (False, "walking")])
def test_baidu_link_plans_a_route_to_the_place(driving, mode):
    links = json.loads(
        navigation_json(
            (117.232682, 31.818601),
            (117.239110, 31.824931),
            "天鹅湖人防车库",
            driving=driving,
            source="rf-registry",
        )
    )
    baidu = urlsplit(links["baidu"])
    # the route planner, not a marker page
    assert (baidu.netloc, baidu.path) == ("api.map.baidu.com", "/direction")
    params = parse_qs(baidu.query)
    assert params["destination"] == ["latlng:31.824931,117.239110|name:天鹅湖人防车库"]
    assert params["mode"] == [mode]
    assert params["coord_type"] == ["bd09ll"]
    assert params["output"] == ["html"]
    assert params["src"] == ["rf-registry"]
    assert "origin" not in params  # Baidu starts from the device, as Amap and Tencent do


@pytest.mark.parametrize(
    "text",
    [
        "".join(map(chr, range(1, 128))),
        "合肥市蜀山区春江花园西区人防工程（地下车库）",
        "😀 rf-registry",
    ],
)
def test_the_database_encodes_names_as_an_equivalent_uri(session, text):
    # use_search.name_uri (the SQL twin, uri_component.sql) encodes every byte, unreserved
    # ASCII too: another spelling of the same URI (RFC 3986, 6.2.2.2).
    encoded = session.execute(text_sql("SELECT uri_component(:t)"), {"t": text}).scalar_one()
    assert unquote(encoded) == text
    assert encoded.upper() == "".join(f"%{byte:02X}" for byte in text.encode())
