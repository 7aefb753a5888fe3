"""Cross-origin requests from browsers (CORS, the Fetch standard).

Two kinds of request, told apart by what the browser sends, whatever the route:

- **public**: GET or HEAD without Authorization. Any origin may read the answer, without
  credentials (`Access-Control-Allow-Origin: *`); the API uses no cookies. The header is
  on every such answer, with or without Origin, so that a cache in front that stored an
  answer for a client without Origin hands a browser one it may read.
- **with a key or writing**: a request carrying Authorization, or any other method. Only
  the origins of RF_CORS_ORIGINS may send them: their answers name the origin and say
  `Vary: Origin`; other origins get no CORS header, so the browser keeps the answer from
  the page (the server still answers the request as it would without a browser, as a
  browser's CORS is no access control: the key is).

A preflight (OPTIONS with Origin and Access-Control-Request-Method) is answered here, 204,
before the gate: it carries no key and costs nothing. It is refused (403) for a kind of
request the origin may not send."""

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.compression import add_vary
from app.core.errors import problem_response

SAFE = frozenset({"GET", "HEAD"})
ALLOW_METHODS = b"GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS"
# The headers the API reads beyond the CORS-safelisted ones.
ALLOW_HEADERS = (
    b"Authorization, Content-Type, If-Match, If-None-Match, Idempotency-Key, Accept, "
    b"Accept-Language, Content-Crs"
)
# The headers the API sends that a page may need to read.
EXPOSE_HEADERS = (
    b"ETag, Link, Location, Retry-After, RateLimit, RateLimit-Policy, Content-Crs, "
    b"Content-Disposition, Content-Encoding, WWW-Authenticate"
)
# Browsers cap it (Chromium at two hours); ten minutes spares most preflights.
MAX_AGE = b"600"
# headers whose names a public preflight may ask for: none that carries a key
KEYED_HEADERS = frozenset({"authorization", "cookie"})

PUBLIC_HEADERS = [
    (b"access-control-allow-origin", b"*"),
    (b"access-control-expose-headers", EXPOSE_HEADERS),
]


# Kinds of answer by the headers CORS adds to them (CorsPolicy.kind): a public answer, one
# for a keyed or writing request from an origin not listed; else the listed origin itself.
PUBLIC, UNLISTED = "public", "unlisted"


class CorsPolicy:
    """What CORS adds to an answer, decided once per kind of request; the Cors middleware
    and the fast path (app.core.fastpath) both ask it."""

    def __init__(self, origins: list[str]) -> None:
        self.origins = frozenset(origin.rstrip("/").lower() for origin in origins)

    def configured(self, origin: bytes) -> bool:
        return origin.decode("latin-1").lower() in self.origins

    def kind(self, method: str, origin: bytes | None, keyed: bool) -> str | bytes:
        """PUBLIC, UNLISTED, or the origin (as sent) of a listed page."""
        if method in SAFE and not keyed:
            return PUBLIC
        if origin is not None and self.configured(origin):
            return origin
        return UNLISTED

    def add(self, headers: list[tuple[bytes, bytes]], kind: str | bytes) -> None:
        """Adds to an answer's `headers`, in place, what CORS says for `kind`."""
        if kind == PUBLIC:
            headers.extend(PUBLIC_HEADERS)
            return
        if kind != UNLISTED:
            headers.append((b"access-control-allow-origin", kind))  # type: ignore[arg-type]
            headers.append((b"access-control-expose-headers", EXPOSE_HEADERS))
        add_vary(headers, b"Origin")


class Cors:
    def __init__(self, app: ASGIApp, *, origins: list[str]) -> None:
        self.app = app
        self.policy = CorsPolicy(origins)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        origin = keyed = preflight = requested_headers = None
        for name, value in scope["headers"]:
            if name == b"origin":
                origin = value
            elif name == b"authorization":
                keyed = True
            elif name == b"access-control-request-method":
                preflight = value.decode("latin-1").strip().upper()
            elif name == b"access-control-request-headers":
                requested_headers = value.decode("latin-1")
        method = scope["method"]
        if method == "OPTIONS" and origin is not None and preflight is not None:
            return await self._preflight(origin, preflight, requested_headers, scope, receive, send)
        kind = self.policy.kind(method, origin, bool(keyed))

        async def with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [*message.get("headers", ())]
                self.policy.add(headers, kind)
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_cors)

    async def _preflight(
        self,
        origin: bytes,
        method: str,
        requested: str | None,
        scope: Scope,
        receive: Receive,
        send: Send,
    ) -> None:
        names = {part.strip().lower() for part in (requested or "").split(",") if part.strip()}
        public = method in SAFE and not names & KEYED_HEADERS
        headers = {
            "Access-Control-Allow-Methods": ALLOW_METHODS.decode(),
            "Access-Control-Allow-Headers": ALLOW_HEADERS.decode(),
            "Access-Control-Max-Age": MAX_AGE.decode(),
            "Vary": "Origin, Access-Control-Request-Method, Access-Control-Request-Headers",
        }
        if public:
            headers["Access-Control-Allow-Origin"] = "*"
        elif self.policy.configured(origin):
            headers["Access-Control-Allow-Origin"] = origin.decode("latin-1")
        else:
            response = problem_response(
                403,
                type_="/problems/cors-origin",
                title="Origin not allowed",
                detail=(
                    f"pages from {origin.decode('latin-1')!r} may read public answers only; "
                    "requests with a key or that write come from the origins the operator "
                    "lists in RF_CORS_ORIGINS"
                ),
                instance=scope["path"],
                headers={"Vary": headers["Vary"]},
            )
            return await response(scope, receive, send)
        await send({"type": "http.response.start", "status": 204, "headers": _raw(headers)})
        await send({"type": "http.response.body", "body": b""})


def _raw(headers: dict[str, str]) -> list[tuple[bytes, bytes]]:
    return [(n.lower().encode(), v.encode("latin-1")) for n, v in headers.items()]
