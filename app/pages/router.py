"""The pages for people: the public map (/map) and the managers' console (/console).

Static files and two small templates, no build step, nothing from another host: the pages
call the same public API as any client, with the caller's key if they have one. Every
page is served with a Content-Security-Policy that allows scripts and styles of this
origin only, so no inline script runs and text from the registry is never markup. Pages
are `no-cache` and name their assets at content-versioned URLs (app/pages/assets.py)."""

from functools import cache
from html import escape
from pathlib import Path
from string import Template

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse
from pydantic import HttpUrl
from starlette.responses import Response

from app.config import Settings
from app.pages.assets import BASE_POLICY, VersionedFiles, opening, page

HERE = Path(__file__).parent
STATIC_PATH = "/pages/static"
MAPLIBRE = "vendor/maplibre-gl-5.24.1"
STATIC = VersionedFiles(STATIC_PATH, directory=HERE / "static")
# What the templates name ($pages_css ...), each at its versioned URL.
ASSETS = {
    "pages_css": "pages.css",
    "common_js": "common.js",
    "charts_js": "charts.js",
    "console_js": "console.js",
    "map_js": "map.js",
    "maplibre_css": f"{MAPLIBRE}/maplibre-gl.css",
    "maplibre_js": f"{MAPLIBRE}/maplibre-gl-csp.js",
    "maplibre_worker": f"{MAPLIBRE}/maplibre-gl-csp-worker.js",
}
router = APIRouter(include_in_schema=False)


def content_security_policy(settings: Settings) -> str:
    basemap = [settings.basemap_style] if settings.basemap_style else []
    origins = sorted({_origin(url) for url in basemap + list(settings.basemap_origins)})
    elsewhere = "".join(f" {origin}" for origin in origins)
    return "; ".join(
        (
            BASE_POLICY,
            "script-src 'self'",
            "style-src 'self'",
            f"img-src 'self' data: blob:{elsewhere}",
            "font-src 'self'",
            f"connect-src 'self'{elsewhere}",
            # MapLibre's CSP build runs its worker from a file of this origin.
            "worker-src 'self'",
        )
    )


def _origin(url: HttpUrl) -> str:
    default = {"http": 80, "https": 443}[url.scheme]
    return f"{url.scheme}://{url.host}" + (f":{url.port}" if url.port != default else "")


@cache
def _template(name: str) -> Template:
    return Template((HERE / "templates" / name).read_text(encoding="utf-8"))


def _page(request: Request, name: str, title: str) -> Response:
    settings: Settings = request.app.state.settings
    values = {
        **{name: STATIC.url(path) for name, path in ASSETS.items()},
        "basemap": str(settings.basemap_style or ""),
        "coordsys": settings.basemap_coordsys,
    }
    body = _template(name).substitute({k: escape(v, quote=True) for k, v in values.items()})
    # No icon of their own: an empty one, so that browsers do not ask for /favicon.ico.
    start = opening(lang="zh-CN", title=title, favicon="data:,")
    return page(start + body, content_security_policy(settings))


@router.api_route("/map", methods=["GET", "HEAD"], response_class=HTMLResponse)
def public_map(request: Request) -> Response:
    return _page(request, "map.html", "人防工程地图")


@router.api_route("/console", methods=["GET", "HEAD"], response_class=HTMLResponse)
def console(request: Request) -> Response:
    return _page(request, "console.html", "人防工程管理")


def install_pages(app: FastAPI) -> None:
    app.include_router(router)
    app.mount(STATIC_PATH, STATIC, name="pages-static")
