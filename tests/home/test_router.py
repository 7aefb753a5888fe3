import hashlib
import re

import pytest
from fastapi.testclient import TestClient

from app.config import PROJECT_ROOT, Settings
from app.home.router import LINKS, README_SECTIONS
from app.main import create_app


def test_the_landing_page_is_html_linking_the_pages_docs_ogc_and_health(public_client):
    response = public_client.get(
        "/", headers={"Accept": "text/html,*/*;q=0.8", "Accept-Language": "en-US,en;q=0.9"}
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert "Accept" in response.headers["vary"]
    hrefs = re.findall(r'<a href="([^"]+)"', response.text)
    assert hrefs[:8] == [
        "/map",
        "/console",
        "/docs",
        "/redoc",
        "/openapi.json",
        "/ogc",
        "/healthz",
        "/readyz",
    ]
    assert "<script" not in response.text  # a strict CSP forbids inline scripts
    assert "人防工程" in response.text
    # Without RF_README_URL the sections are named, not linked.
    assert "What it offers</li>" in response.text


def test_curl_gets_the_page_and_a_json_client_the_links(public_client):
    assert (
        public_client.get("/", headers={"Accept": "*/*"})
        .headers["content-type"]
        .startswith("text/html")
    )
    response = public_client.get("/", headers={"Accept": "application/json"})
    assert response.headers["content-type"] == "application/json"
    document = response.json()
    assert document["title"] == "Civil air defense registry"
    assert [link["href"] for link in document["links"]] == [link.href for link in LINKS]
    assert {link["rel"] for link in document["links"]} == {
        "service-doc",
        "service-desc",
        "related",
        "status",
    }


@pytest.mark.parametrize(
    "accept_language", [None, "zh-CN,zh;q=0.9,en;q=0.8", "*", "fr-FR, de;q=0.5", "en;q=0.3, zh"]
)
def test_the_landing_page_is_chinese_unless_the_browser_prefers_english(
    public_client, accept_language
):
    headers = {"Accept-Language": accept_language} if accept_language else {}
    response = public_client.get("/", headers=headers)
    assert '<html lang="zh-CN">' in response.text
    assert response.headers["content-language"] == "zh-CN"
    assert "<title>人防工程登记系统</title>" in response.text
    assert ">公众地图：有空位的人防车库、掩蔽所、问题报告</a> <code>/map</code>" in response.text
    assert "<li>功能</li>" in response.text and "What it offers" not in response.text
    assert "Accept-Language" in response.headers["vary"]


@pytest.mark.parametrize("accept_language", ["en-GB,en;q=0.9", "en", "zh;q=0.5, en-US"])
def test_the_landing_page_is_english_when_the_browser_prefers_it(public_client, accept_language):
    response = public_client.get("/", headers={"Accept-Language": accept_language})
    assert '<html lang="en">' in response.text
    assert response.headers["content-language"] == "en"
    assert "<title>Civil air defense registry</title>" in response.text
    assert "<li>What it offers</li>" in response.text and "功能" not in response.text


@pytest.mark.parametrize("path", ["/", "/docs", "/redoc"])
def test_a_home_page_has_a_strict_policy_and_is_revalidated(public_client, path):
    response = public_client.get(path)
    assert response.status_code == 200
    policy = dict(
        part.strip().split(" ", 1)
        for part in response.headers["content-security-policy"].split(";")
    )
    assert policy["default-src"] == "'none'"
    assert policy["frame-ancestors"] == "'none'"
    assert policy["base-uri"] == "'none'"
    assert policy.get("script-src", "'self'") == "'self'"  # no inline script, no eval
    assert "unsafe-eval" not in response.headers["content-security-policy"]
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["cache-control"] == "no-cache"


@pytest.mark.parametrize("path", ["/", "/docs", "/redoc"])
def test_a_home_page_names_its_assets_by_their_content(public_client, path):
    page = public_client.get(path).text
    assets = re.findall(r'(?:src|href)="(/docs/assets/[^"]+)"', page)
    assert assets
    for url in assets:
        assert_versioned(public_client, url)


def assert_versioned(client, url: str) -> None:
    """`url` names its content's digest and is cached for a year; without the digest, or
    with another, the asset must be revalidated."""
    path, _, version = url.partition("?v=")
    assert re.fullmatch(r"[0-9a-f]{16}", version), url
    served = client.get(url)
    assert served.status_code == 200, url
    assert hashlib.sha256(served.content).hexdigest()[:16] == version, url
    assert served.headers["cache-control"] == "public, max-age=31536000, immutable", url
    for other in (path, f"{path}?v=0123456789abcdef", f"{path}?v={version}&v=x"):
        again = client.get(other)
        assert again.status_code == 200 and again.content == served.content, other
        assert again.headers["cache-control"] == "no-cache", other


def test_every_link_of_the_landing_page_answers(public_client):
    for link in LINKS:
        response = public_client.get(link.href, headers={"Accept": link.type})
        assert response.status_code == 200, link.href
        assert response.headers["content-type"].startswith(link.type), link.href


def test_readme_sections_link_where_the_readme_is_published(settings):
    published = "https://git.example.cn/rf/-/blob/main/README.md"
    app = create_app(settings.model_copy(update={"readme_url": published}))
    page = TestClient(app).get("/", headers={"Accept-Language": "en"}).text
    for title, anchor in README_SECTIONS:
        assert f'<a href="{published}#{anchor}" rel="describedby">{title}</a>' in page
    document = TestClient(app).get("/", headers={"Accept": "application/json"}).json()
    assert f"{published}#what-it-offers" in [link["href"] for link in document["links"]]


def test_the_readme_has_the_sections_the_page_names():
    headings = re.findall(r"^## (.+)$", (PROJECT_ROOT / "README.md").read_text(), re.M)
    for title, anchor in README_SECTIONS:
        assert title in headings
        assert anchor == title.lower().replace(" ", "-")


def test_a_readme_url_must_be_a_web_address():
    with pytest.raises(ValueError, match="readme_url"):
        Settings(database_url="postgresql://x@localhost/y", readme_url="javascript:alert(1)")


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
def test_the_docs_pages_load_only_local_assets(public_client, path):
    page = public_client.get(path)
    assert page.status_code == 200
    sources = re.findall(r'(?:src|href|spec-url)="([^"]+)"', page.text)
    assert sources and all(source.startswith("/") for source in sources), sources
    for source in sources:
        asset = public_client.get(source)
        assert asset.status_code == 200, source
        for host in ("cdn.redoc.ly", "cdn.jsdelivr.net", "unpkg.com", "fonts.googleapis.com"):
            assert host.encode() not in asset.content, (source, host)
    assert not re.search(r"<script>|<script [^>]*>[^<]", page.text), "no inline script"
    assert "googleapis" not in page.text and "jsdelivr" not in page.text


def test_the_interactive_docs_are_not_in_the_document(public_client):
    paths = public_client.get("/openapi.json").json()["paths"]
    assert not {"/", "/docs", "/redoc"} & set(paths)
