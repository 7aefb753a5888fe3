from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.compression import add_vary
from app.core.errors import AppError, BadRequest, BodyError, error_response

# The scope's mark of a request the fast path (core.fastpath) admitted by the gate's rules
# (accounts.gate), its token taken: its principal.
ADMITTED = "rf.admitted"


def client_address(scope: Scope) -> str:
    """The caller's address: the connection's peer, or the client a trusted proxy named
    (the server rewrites `client` for RF_TRUSTED_PROXIES only; see app.serving)."""
    client = scope.get("client")
    return client[0] if client else "unknown"


def has_body(headers: dict[bytes, bytes]) -> bool:
    """Whether a request with these headers sends a body."""
    return headers.get(b"content-length", b"0") != b"0" or b"transfer-encoding" in headers


def closing(response: Response, scope: Scope) -> Response:
    """`response`, closing the connection after it when the request sends a body: an
    answer given before the body is read tells the client to stop sending, instead of the
    server reading the rest to discard it."""
    if has_body(dict(scope["headers"])):
        response.headers["Connection"] = "close"
    return response


class BodyTooLarge(BodyError):
    status, type, title = 413, "/problems/body-too-large", "Request body too large"

    template = "the body may hold at most {max_bytes} bytes"


class BodySizeLimit:
    """Refuses a body over the limit with 413: at once from Content-Length, or, for a
    chunked body, as soon as the app has read past the limit. Nothing is buffered here:
    the app reads the body as it arrives (an import streams it to disk). The gate has
    authenticated the caller by then; routes that take a file (imports, photos,
    population layers) read it after their dependencies authorised the caller, while
    FastAPI reads a JSON body (at most a megabyte) before them. An answer given before the body was read whole closes the connection,
    so that the client stops sending instead of the server reading the rest to discard
    it. `by_path` gives some paths their own limit (photos, import files)."""

    def __init__(self, app: ASGIApp, max_bytes: int, by_path: dict[str, int] | None = None) -> None:
        self.app = app
        self.default = max_bytes
        self.by_path = by_path or {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        max_bytes = self.by_path.get(scope["path"], self.default)
        headers = dict(scope["headers"])
        declared = headers.get(b"content-length")
        if declared is not None and not declared.isdigit():
            # Framing that cannot be read (RFC 9112 §6.3): 400, and the connection closed.
            # uvicorn's parser refuses it before the app; another server may not.
            error = BadRequest("Content-Length must be a whole number of bytes")
            return await _refused(error, scope, receive, send)
        # a length of more digits than any limit has is too large before it is read: int()
        # refuses over 4,300 digits
        if declared is not None and (len(declared) > 18 or int(declared) > max_bytes):
            return await _refused(BodyTooLarge(max_bytes=max_bytes), scope, receive, send)
        if not has_body(headers):
            return await self.app(scope, receive, send)
        received = 0
        complete = False

        async def counted() -> Message:
            nonlocal received, complete
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > max_bytes:
                    raise BodyTooLarge(max_bytes=max_bytes)
                complete = not message.get("more_body", False)
            else:
                complete = True
            return message

        async def closing_early(message: Message) -> None:
            if message["type"] == "http.response.start" and not complete:
                message = {**message, "headers": [*message["headers"], (b"connection", b"close")]}
            await send(message)

        await self.app(scope, counted, closing_early)


async def _refused(error: AppError, scope: Scope, receive: Receive, send: Send) -> None:
    await error_response(error, scope["path"], {"Connection": "close"})(scope, receive, send)


class HeadAsGet:
    """HEAD on every GET resource (RFC 9110 §9.3.2): the app answers it as the GET, and
    the body is left out here, so the headers (Content-Length, ETag, Content-Encoding)
    are those of the GET. Routes declare GET only."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            return await self.app(scope, receive, send)

        async def headers_only(message: Message) -> None:
            if message["type"] == "http.response.body":
                if message.get("more_body", False):
                    return None
                message = {"type": "http.response.body", "body": b""}
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, headers_only)


# Answers a shared cache may keep when the route says nothing: heuristic freshness
# (RFC 9111 §4.2.2) would otherwise let it keep them for as long as it likes.
CACHEABLE = frozenset({200, 203, 204})


class CacheHeaders:
    """Cache-Control and Vary for answers to GET whose route set no Cache-Control: an
    anonymous caller's answer is public for `max_age_s` seconds and may be served stale
    for `stale_s` more while the cache revalidates it; a caller with a key gets
    `private, no-cache`, as what a key may see differs from key to key. Both say
    `Vary: Authorization`, so that a cache never hands an anonymous answer to a key or
    one key's to another. Errors say `no-store`. A route that knows better (tiles,
    photos, health probes) sets its own Cache-Control, which is kept."""

    def __init__(self, app: ASGIApp, *, max_age_s: int, stale_s: int) -> None:
        self.app = app
        self.public = f"public, max-age={max_age_s}, stale-while-revalidate={stale_s}".encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET":
            return await self.app(scope, receive, send)
        keyed = any(name == b"authorization" for name, _ in scope["headers"])
        public = self.public

        async def caching(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                if not any(name == b"cache-control" for name, _ in headers):
                    status = message["status"]
                    if status in CACHEABLE:
                        headers.append(
                            (b"cache-control", b"private, no-cache" if keyed else public)
                        )
                        add_vary(headers, b"Authorization")
                    elif status != 304:
                        headers.append((b"cache-control", b"no-store"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, caching)
