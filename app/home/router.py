"""The pages for people: the landing page at /, and the API documentation (Swagger UI at
/docs, ReDoc at /redoc) with their assets served from the installed packages, never from a
CDN, which an intranet or a network in mainland China may not reach. No page has an
inline script, so that a strict Content-Security-Policy forbids them, and no other site
may frame a page. Pages are `no-cache` and name their assets at content-versioned URLs
(app/pages/assets.py). The landing page speaks Chinese unless the caller prefers English,
as the map and the console do."""

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from functools import cache
from html import escape
from importlib.resources import files
from string import Template

from fastapi import APIRouter, FastAPI, Request, Response

from app.core.i18n import negotiate
from app.pages.assets import BASE_POLICY, VersionedFiles, cache_control, digest, opening, page

TEXT = "text/html"
JSON = "application/json"
ASSETS = "/docs/assets"
TEMPLATES = files("app.home") / "templates"


@dataclass(frozen=True)
class Link:
    href: str  # from the server's root
    rel: str
    type: str
    title: str


# What the landing page links to, in order: a line a page. The JSON document's titles are
# the English ones.
LINKS = [
    Link("/map", "related", TEXT, "The public map: car parks with free spaces, shelters, reports"),
    Link("/console", "related", TEXT, "The managers' console (sign in with an API key)"),
    Link("/docs", "service-doc", TEXT, "API documentation: try each request (Swagger UI)"),
    Link("/redoc", "service-doc", TEXT, "API reference to read (ReDoc)"),
    Link("/openapi.json", "service-desc", JSON, "OpenAPI document"),
    Link("/ogc", "related", TEXT, "OGC API - Features and Tiles: QGIS, GDAL, web maps"),
    Link("/healthz", "status", JSON, "Liveness: the process answers"),
    Link("/readyz", "status", JSON, "Readiness: the database answers at the migration head"),
]
# Sections of the repository's README.md (heading, anchor), linked when RF_README_URL says
# where it is published.
README_SECTIONS = [
    ("Two commands", "two-commands"),
    ("What it offers", "what-it-offers"),
    ("Configuration", "configuration"),
    ("Layout", "layout"),
    ("Benchmarks", "benchmarks"),
]
TITLE = "Civil air defense registry"
SUMMARY = (
    "The registry of civil air defense works (人防工程) and their peacetime uses, car parks "
    "first: an HTTP API for residents' map apps, GIS clients and planners."
)
# The landing page speaks Chinese, as the map and the console do, unless the caller
# prefers English; its texts in Chinese, by their English.
PAGE_LANGUAGE = "zh"
CHINESE = {
    TITLE: "人防工程登记系统",
    SUMMARY: "人防工程及其平时用途（首先是人防车库）的登记系统：为居民地图应用、GIS 客户端和"
    "规划人员提供的 HTTP API。",
    "Start here": "从这里开始",
    "In the README": "README 中的章节",
    LINKS[0].title: "公众地图：有空位的人防车库、掩蔽所、问题报告",
    LINKS[1].title: "管理控制台（用 API 密钥登录）",
    LINKS[2].title: "API 文档：逐个试用请求（Swagger UI）",
    LINKS[3].title: "API 参考（ReDoc）",
    LINKS[4].title: "OpenAPI 文档",
    LINKS[5].title: "OGC API - Features 与 Tiles：QGIS、GDAL、网页地图",
    LINKS[6].title: "存活检查：进程在应答",
    LINKS[7].title: "就绪检查：数据库在应答且已迁移到最新版本",
    "Two commands": "两条命令",
    "What it offers": "功能",
    "Configuration": "配置",
    "Layout": "代码结构",
    "Benchmarks": "性能测试",
}
# Swagger UI and ReDoc set styles from their scripts (ReDoc writes <style> elements), and
# draw icons from data: URLs; ReDoc runs its search in a worker made from a blob.
LANDING_POLICY = f"{BASE_POLICY}; style-src 'self'; img-src 'self'"
DOCS_POLICY = (
    f"{BASE_POLICY}; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; worker-src 'self' blob:"
)

router = APIRouter(include_in_schema=False)
# Ours first, then Swagger UI's and ReDoc's.
STATIC = VersionedFiles(ASSETS, packages=[("app.home", "static"), ("fastapi_offline", "static")])


@cache
def _template(name: str) -> Template:
    return Template((TEMPLATES / name).read_text(encoding="utf-8"))


def _wants_json(request: Request) -> bool:
    """HTML unless the client asks for JSON and not for HTML (a browser asks for HTML)."""
    accept = request.headers.get("accept", "")
    return JSON in accept and TEXT not in accept


def _readme_links(request: Request) -> list[Link]:
    """Empty where RF_README_URL is not set: the page then only names the sections."""
    url = request.app.state.settings.readme_url
    if url is None:
        return []
    return [Link(f"{url}#{anchor}", "describedby", TEXT, t) for t, anchor in README_SECTIONS]


@router.get("/")
async def landing(request: Request) -> Response:
    root = request.scope.get("root_path", "")
    links = [Link(f"{root}{link.href}", link.rel, link.type, link.title) for link in LINKS]
    readme = _readme_links(request)
    headers = {"Vary": "Accept, Accept-Language"}
    if _wants_json(request):
        document = {
            "title": TITLE,
            "description": SUMMARY,
            "links": [asdict(link) for link in [*links, *readme]],
        }
        return Response(json.dumps(document, ensure_ascii=False), media_type=JSON, headers=headers)
    language = negotiate(request.headers.get("accept-language"), PAGE_LANGUAGE)
    say = (lambda text: CHINESE.get(text, text)) if language == "zh" else (lambda text: text)
    lang = "zh-CN" if language == "zh" else "en"
    start = opening(lang=lang, title=say(TITLE), favicon=STATIC.url("favicon.png", root=root))
    body = _template("landing.html").substitute(
        title=escape(say(TITLE)),
        summary=escape(say(SUMMARY)),
        start_here=escape(say("Start here")),
        in_readme=escape(say("In the README")),
        css=escape(STATIC.url("home.css", root=root)),
        links=_items(links, say, paths=True),
        readme=_items(readme, say)
        or "\n".join(f"<li>{escape(say(t))}</li>" for t, _ in README_SECTIONS),
    )
    headers["Content-Language"] = lang
    return page(start + body, LANDING_POLICY, headers)


def _items(links: list[Link], say: Callable[[str], str], *, paths: bool = False) -> str:
    return "\n".join(
        f'<li><a href="{escape(link.href)}" rel="{escape(link.rel)}">{escape(say(link.title))}</a>'
        + (f" <code>{escape(link.href)}</code>" if paths else "")
        + "</li>"
        for link in links
    )


@router.get("/docs")
async def swagger_ui(request: Request) -> Response:
    return _docs_page(request, "swagger-ui.html", "API documentation")


@router.get("/redoc")
async def redoc(request: Request) -> Response:
    return _docs_page(request, "redoc.html", "API reference")


def _docs_page(request: Request, template: str, what: str) -> Response:
    root = request.scope.get("root_path", "")
    assets = {
        name: escape(STATIC.url(path, root=root))
        for name, path in (
            ("swagger_css", "swagger-ui.css"),
            ("swagger_js", "swagger-ui-bundle.js"),
            ("swagger_init", "swagger-init.js"),
        )
    }
    title = f"{TITLE}: {what}"
    start = opening(lang="en", title=title, favicon=STATIC.url("favicon.png", root=root))
    body = _template(template).substitute(
        redoc_js=escape(f"{root}{REDOC_PATH}?v={_redoc_bundle()[1]}"),
        openapi_url=escape(f"{root}{request.app.openapi_url}"),
        **assets,
    )
    return page(start + body, DOCS_POLICY)


# ReDoc draws its "API docs by Redocly" badge from cdn.redoc.ly whatever its options
# (Redocly/redoc#2141), which a closed network refuses and a strict CSP reports: the bundle
# is served with that address turned to a blank image of ours. Relative to /redoc, so that
# it holds under a root path too.
REDOC_BADGE = b"https://cdn.redoc.ly/redoc/logo-mini.svg"
REDOC_PATH = f"{ASSETS}/redoc.standalone.js"


@cache
def _redoc_bundle() -> tuple[bytes, str]:
    """The bundle as served, and its version."""
    bundle = (files("fastapi_offline") / "static" / "redoc.standalone.js").read_bytes()
    served = bundle.replace(REDOC_BADGE, f"{ASSETS.lstrip('/')}/blank.svg".encode())
    return served, digest(served)


@router.get(REDOC_PATH)
async def redoc_bundle(request: Request) -> Response:
    bundle, version = _redoc_bundle()
    return Response(
        bundle,
        media_type="text/javascript; charset=utf-8",
        headers={
            "Cache-Control": cache_control(request.scope, version),
            "X-Content-Type-Options": "nosniff",
        },
    )


def install(app: FastAPI) -> None:
    """The pages, and their assets."""
    app.include_router(router)
    app.mount(ASSETS, STATIC, name="docs-assets")
