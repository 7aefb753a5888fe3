from app.core.errors import AppError, NotFound


class PhotoTooLarge(AppError):
    status, type, title = 413, "/problems/body-too-large", "Photo too large"


class PhotoNotFound(NotFound):
    template = "photo {digest} does not exist"
