from app.core.errors import AppError, NotFound


class UnsupportedMedia(AppError):
    status, type, title = 415, "/problems/unsupported-media-type", "Unsupported media type"


class PhotoTooLarge(AppError):
    status, type, title = 413, "/problems/body-too-large", "Photo too large"


class PhotoNotFound(NotFound):
    template = "photo {digest} does not exist"

    def __init__(self, digest: str) -> None:
        super().__init__(self.template.format(digest=digest))
