from starlette.types import ASGIApp, Receive, Scope, Send

from app.core.middleware import BodySizeLimit
from app.media.limits import PerPathBodyLimit

IMPORTS_PATH = "/v1/imports"


class UploadSizeLimit:
    """The per-path body limits, plus a far larger one for files sent to POST /v1/imports:
    a registry's worth of GeoJSON is gigabytes. Send a Content-Length: a chunked body is
    buffered up to the limit before the app sees it."""

    def __init__(
        self, app: ASGIApp, *, max_bytes: int, photo_max_bytes: int, import_max_bytes: int
    ) -> None:
        self.others = PerPathBodyLimit(app, max_bytes=max_bytes, photo_max_bytes=photo_max_bytes)
        self.imports = BodySizeLimit(app, max_bytes=import_max_bytes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == IMPORTS_PATH:
            return await self.imports(scope, receive, send)
        await self.others(scope, receive, send)
