from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.errors import problem_response


class BodySizeLimit:
    """Refuse a body over the limit with 413: at once from Content-Length, or, for a chunked
    body, after reading it up to the limit. The app then gets the buffered body replayed.
    `by_path` gives some paths their own limit (photos, import files)."""

    def __init__(self, app: ASGIApp, max_bytes: int, by_path: dict[str, int] | None = None) -> None:
        self.app = app
        self.default = max_bytes
        self.by_path = by_path or {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        max_bytes = self.by_path.get(scope["path"], self.default)
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > max_bytes):
            return await self._refuse(scope, receive, send, max_bytes)
        if declared is not None:
            return await self.app(scope, receive, send)
        messages: list[Message] = []
        received = 0
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break
            received += len(message.get("body", b""))
            if received > max_bytes:
                return await self._refuse(scope, receive, send, max_bytes)
            if not message.get("more_body", False):
                break

        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, max_bytes: int) -> None:
        response = problem_response(
            413,
            type_="/problems/body-too-large",
            title="Request body too large",
            detail=f"the body may hold at most {max_bytes} bytes",
        )
        await response(scope, receive, send)
