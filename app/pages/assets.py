"""Static files at content-versioned URLs: a page names each asset with `?v=` and the
digest of its bytes, and such a URL is cached for a year, as its content can never change;
a deploy that changes a file changes its URL, so no browser keeps an old script. A URL
without the digest, or with another one (a page from before a deploy), must be revalidated.
The pages that name the assets are `no-cache` themselves, and carry the headers of
`page()`."""

import hashlib
import os
from functools import lru_cache
from html import escape
from urllib.parse import parse_qs

from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
# What every page's Content-Security-Policy says, whatever else it allows: nothing by
# default, no <base>, forms to this origin only, and no framing by another site.
BASE_POLICY = "default-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"


def opening(*, lang: str, title: str, favicon: str) -> str:
    """The start every HTML page shares, up to its own styles and scripts: a page's
    template holds those, the end of the head, and the body."""
    return (
        "<!doctype html>\n"
        f'<html lang="{escape(lang)}">\n'
        "<head>\n"
        '<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(title)}</title>\n"
        f'<link rel="icon" href="{escape(favicon)}">\n'
    )


def page(body: str, policy: str, headers: dict[str, str] | None = None) -> Response:
    """An HTML page under `policy` (BASE_POLICY and what the page loads), revalidated on
    each visit, never sniffed as another type."""
    return Response(
        body,
        media_type="text/html; charset=utf-8",
        headers={
            "Content-Security-Policy": policy,
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "same-origin",
            "Cache-Control": REVALIDATE,
            **(headers or {}),
        },
    )


def digest(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()[:16]


@lru_cache(maxsize=256)
def _file_digest(path: str, mtime_ns: int, size: int) -> str:
    with open(path, "rb") as file:
        return digest(file.read())


def cache_control(scope: Scope, version: str) -> str:
    """Immutable for the URL that names `version`, to be revalidated for any other."""
    asked = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("v")
    return IMMUTABLE if asked == [version] else REVALIDATE


class VersionedFiles(StaticFiles):
    """StaticFiles that knows each file's versioned URL under `prefix` (where it is
    mounted) and answers it with the Cache-Control above."""

    def __init__(self, prefix: str, **kwargs) -> None:
        super().__init__(**kwargs)
        self.prefix = prefix

    def url(self, path: str, *, root: str = "") -> str:
        full_path, stat = self.lookup_path(path)
        if stat is None:
            raise FileNotFoundError(path)
        return f"{root}{self.prefix}/{path}?v={self._version(full_path, stat)}"

    def file_response(self, full_path, stat_result, scope, status_code=200) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        version = self._version(os.fspath(full_path), stat_result)
        response.headers["Cache-Control"] = cache_control(scope, version)
        return response

    @staticmethod
    def _version(full_path: str, stat: os.stat_result) -> str:
        return _file_digest(full_path, stat.st_mtime_ns, stat.st_size)
