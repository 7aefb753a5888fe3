from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.errors import BodyError, problem_response


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

    def __init__(self, max_bytes: int) -> None:
        super().__init__(self.template.format(max_bytes=max_bytes))


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
        if declared is not None and (not declared.isdigit() or int(declared) > max_bytes):
            error = BodyTooLarge(max_bytes)
            response = problem_response(
                error.status,
                type_=error.type,
                title=error.title,
                detail=error.detail,
                instance=scope["path"],
                headers={"Connection": "close"},
            )
            return await response(scope, receive, send)
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
                    raise BodyTooLarge(max_bytes)
                complete = not message.get("more_body", False)
            else:
                complete = True
            return message

        async def closing_early(message: Message) -> None:
            if message["type"] == "http.response.start" and not complete:
                message = {**message, "headers": [*message["headers"], (b"connection", b"close")]}
            await send(message)

        await self.app(scope, counted, closing_early)
