from starlette.types import ASGIApp, Receive, Scope, Send

from app.core.middleware import BodySizeLimit

PHOTO_PATH = "/v1/media/photos"


class PerPathBodyLimit:
    """The app-wide body limit, except photo uploads, which get the (larger) photo limit:
    a phone photo is several megabytes, a JSON body never needs to be."""

    def __init__(self, app: ASGIApp, *, max_bytes: int, photo_max_bytes: int) -> None:
        self.default = BodySizeLimit(app, max_bytes=max_bytes)
        self.photos = BodySizeLimit(app, max_bytes=photo_max_bytes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == PHOTO_PATH:
            return await self.photos(scope, receive, send)
        await self.default(scope, receive, send)
