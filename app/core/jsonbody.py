"""JSON from callers, read with a bound on its nesting.

Python's json module recurses once per level: a body of 100,000 `[` ends in a
RecursionError, and code that walks a parsed value (encoders, shapely, the audit trail)
recurses as deep again. No document of this API nests beyond a dozen levels (a
MultiPolygon's coordinates are four), so MAX_DEPTH leaves room and stops the rest."""

import json
import re
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.errors import BadRequest, BodyError

MAX_DEPTH = 64

_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')
_NOT_BRACKET = bytes(byte for byte in range(256) if byte not in b"[]{}")


def nests_deeper(data: bytes, limit: int = MAX_DEPTH) -> bool:
    """Whether `data`, read as JSON, nests arrays and objects more than `limit` deep. It
    works on the brackets outside strings, in C: each pass drops the innermost pairs,
    so a document takes as many passes as it has levels."""
    brackets = _STRING.sub(b"", data).translate(None, _NOT_BRACKET)
    depth = 0
    while brackets:
        inner = brackets.replace(b"[]", b"").replace(b"{}", b"")
        if len(inner) == len(brackets):
            # Unbalanced, so not JSON: only its openers left could still nest.
            return depth + brackets.count(b"[") + brackets.count(b"{") > limit
        depth += 1
        if depth > limit:
            return True
        brackets = inner
    return False


class TooDeep(BadRequest, BodyError):
    template = "{what}: JSON nested deeper than {max_depth} levels"


def loads(data: bytes | str, *, what: str) -> Any:
    """Parses caller-supplied JSON; a 400 naming `what` when it nests too deep. Other
    errors are json's own (ValueError), for the caller to word."""
    raw = data.encode() if isinstance(data, str) else data
    if nests_deeper(raw):
        raise TooDeep(what=what, max_depth=MAX_DEPTH)
    return json.loads(raw)


JSON_MEDIA = re.compile(rb"^\s*application/([a-z0-9.+-]+\+)?json\s*(;|$)", re.I)


class JsonDepthLimit:
    """Refuses a JSON request body that nests too deep, before the app parses it. The
    body is checked once read whole, as FastAPI reads JSON bodies whole anyway. A body
    longer than `max_bytes` (the JSON body limit) is one a route reads as a file of its
    own (an import, a population layer), streamed to disk or read with `loads`: it is
    passed on unchecked rather than held in memory, where a gigabyte GeoJSON import sent
    as application/geo+json took two to three times its size."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        media = next((v for k, v in scope["headers"] if k == b"content-type"), None)
        if media is None or not JSON_MEDIA.match(media):
            return await self.app(scope, receive, send)
        chunks: list[bytes] | None = []
        size = 0

        async def checked() -> Message:
            nonlocal chunks, size
            message = await receive()
            if message["type"] == "http.request" and chunks is not None:
                body = message.get("body", b"")
                size += len(body)
                if size > self.max_bytes:
                    chunks = None  # a file for its route, which bounds its own reading
                    return message
                chunks.append(body)
                if not message.get("more_body", False) and nests_deeper(b"".join(chunks)):
                    raise TooDeep(what="body", max_depth=MAX_DEPTH)
            return message

        await self.app(scope, checked, send)
