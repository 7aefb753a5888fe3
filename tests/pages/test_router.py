"""The pages as served: the Content-Security-Policy, the page's settings, the vendored
MapLibre, and rules the scripts must keep (no markup from strings, no inline script)."""

import hashlib
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.config import Settings
from app.main import create_app
from app.pages.router import HERE, STATIC_PATH, content_security_policy
from tests.home.test_router import assert_versioned

VENDOR = HERE / "static" / "vendor" / "maplibre-gl-5.24.1"


@pytest.mark.parametrize("path", ["/map", "/console"])
def test_a_page_allows_scripts_and_styles_of_this_origin_only(public_client, path):
    response = public_client.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    policy = dict(
        part.strip().split(" ", 1)
        for part in response.headers["content-security-policy"].split(";")
    )
    assert policy["default-src"] == "'none'"
    assert policy["script-src"] == "'self'"
    assert policy["style-src"] == "'self'"
    assert policy["connect-src"] == "'self'"
    assert policy["frame-ancestors"] == "'none'"
    assert "unsafe" not in response.headers["content-security-policy"]
    assert response.headers["x-content-type-options"] == "nosniff"
    assert public_client.head(path).status_code == 200


@pytest.mark.parametrize("path", ["/map", "/console"])
def test_a_page_names_its_assets_by_their_content(public_client, path):
    response = public_client.get(path)
    assert response.headers["cache-control"] == "no-cache"
    assets = re.findall(r'(?:src|href|data-worker)="(/pages/static/[^"]+)"', response.text)
    assert len(assets) == (6 if path == "/map" else 4), assets
    for url in assets:
        assert_versioned(public_client, url)


@pytest.mark.parametrize("name", ["map.html", "console.html"])
def test_templates_hold_no_inline_script_style_or_handler(name):
    html = (HERE / "templates" / name).read_text()
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, re.S)
    assert scripts and all(
        "src=" in attributes and not body.strip() for attributes, body in scripts
    )
    assert not re.search(r"\son[a-z]+=", html)
    assert "style=" not in html and "<style" not in html
    assert not re.search(r"(src|href)=\"(https?:)?//", html)  # nothing from another host


@pytest.mark.parametrize("script", sorted((HERE / "static").glob("*.js")), ids=lambda p: p.name)
def test_scripts_never_turn_strings_into_markup_or_code(script: Path):
    source = script.read_text()
    for sink in (
        "innerHTML",
        "outerHTML",
        "insertAdjacentHTML",
        "document.write",
        "eval(",
        "new Function",
    ):
        assert sink not in source, f"{script.name} uses {sink}"


def test_the_vendored_maplibre_is_the_pinned_release_with_its_licence(public_client):
    listed = dict(
        reversed(line.split())
        for line in (VENDOR / "SOURCE.md").read_text().splitlines()
        if re.match(r"^[0-9a-f]{64}  ", line)
    )
    assert set(listed) == {
        "LICENSE.txt",
        "maplibre-gl-csp.js",
        "maplibre-gl-csp-worker.js",
        "maplibre-gl.css",
    }
    for name, digest in listed.items():
        assert hashlib.sha256((VENDOR / name).read_bytes()).hexdigest() == digest, name
    assert "MapLibre contributors" in (VENDOR / "LICENSE.txt").read_text()
    served = public_client.get(f"{STATIC_PATH}/vendor/maplibre-gl-5.24.1/maplibre-gl-csp.js")
    assert served.status_code == 200
    assert "javascript" in served.headers["content-type"]
    assert public_client.get(f"{STATIC_PATH}/nothing.js").status_code == 404


def test_a_basemap_is_named_to_the_page_and_allowed_by_the_policy(settings):
    configured = Settings(
        **settings.model_dump()
        | {
            "basemap_style": 'https://tiles.example.cn/styles/streets.json?key=a&b="c"',
            "basemap_origins": "https://glyphs.example.cn, http://localhost:8080",
            "basemap_coordsys": "gcj02",
        }
    )
    policy = content_security_policy(configured)
    origins = "http://localhost:8080 https://glyphs.example.cn https://tiles.example.cn"
    assert f"connect-src 'self' {origins};" in policy
    assert f"img-src 'self' data: blob: {origins};" in policy
    page = TestClient(create_app(configured)).get("/map").text
    body = re.search(r"<body[^>]*>", page, re.S).group(0)
    assert 'data-coordsys="gcj02"' in body
    basemap = re.search(r'data-basemap="([^"]*)"', body).group(1)
    assert basemap.startswith("https://tiles.example.cn/styles/streets.json?key=a&amp;b=")
