"""The pages for people: the landing page at /, and the API documentation (Swagger UI at
/docs, ReDoc at /redoc) with their assets served from the installed packages, never from a
CDN, which an intranet or a network in mainland China may not reach. No page has an
inline script, so that a strict Content-Security-Policy can forbid them."""

import json
from dataclasses import asdict, dataclass
from functools import cache
from html import escape
from importlib.resources import files
from string import Template

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.staticfiles import StaticFiles

HTML = "text/html; charset=utf-8"
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


# What the landing page links to, in order: a line a page.
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

router = APIRouter(include_in_schema=False)


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
    headers = {"Vary": "Accept"}
    if _wants_json(request):
        document = {
            "title": TITLE,
            "description": SUMMARY,
            "links": [asdict(link) for link in [*links, *readme]],
        }
        return Response(json.dumps(document, ensure_ascii=False), media_type=JSON, headers=headers)
    page = _template("landing.html").substitute(
        title=escape(TITLE),
        summary=escape(SUMMARY),
        assets=escape(f"{root}{ASSETS}"),
        links=_items(links, paths=True),
        readme=_items(readme) or "\n".join(f"<li>{escape(t)}</li>" for t, _ in README_SECTIONS),
    )
    return Response(page, media_type=HTML, headers=headers)


def _items(links: list[Link], *, paths: bool = False) -> str:
    return "\n".join(
        f'<li><a href="{escape(link.href)}" rel="{escape(link.rel)}">{escape(link.title)}</a>'
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
    page = _template(template).substitute(
        title=escape(f"{TITLE}: {what}"),
        assets=escape(f"{root}{ASSETS}"),
        openapi_url=escape(f"{root}{request.app.openapi_url}"),
    )
    return Response(page, media_type=HTML)


# ReDoc draws its "API docs by Redocly" badge from cdn.redoc.ly whatever its options
# (Redocly/redoc#2141), which a closed network refuses and a strict CSP reports: the bundle
# is served with that address turned to a blank image of ours. Relative to /redoc, so that
# it holds under a root path too.
REDOC_BADGE = b"https://cdn.redoc.ly/redoc/logo-mini.svg"


@cache
def _redoc_bundle() -> bytes:
    bundle = (files("fastapi_offline") / "static" / "redoc.standalone.js").read_bytes()
    return bundle.replace(REDOC_BADGE, f"{ASSETS.lstrip('/')}/blank.svg".encode())


@router.get(f"{ASSETS}/redoc.standalone.js")
async def redoc_bundle() -> Response:
    return Response(_redoc_bundle(), media_type="text/javascript; charset=utf-8")


def install(app: FastAPI) -> None:
    """The pages, and their assets: ours first, then Swagger UI's and ReDoc's."""
    app.include_router(router)
    assets = StaticFiles(packages=[("app.home", "static"), ("fastapi_offline", "static")])
    app.mount(ASSETS, assets, name="docs-assets")
