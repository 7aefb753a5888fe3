from typing import Annotated

from fastapi import APIRouter, Path, Request, Response, status
from fastapi.concurrency import run_in_threadpool

from app.accounts.dependencies import CurrentPrincipal
from app.core.errors import problem_responses
from app.db.session import SessionDep
from app.media import service
from app.media.schemas import PhotoRead
from app.media.storage import DiskStore

router = APIRouter(prefix="/v1/media", tags=["media"])
# Photo uploads have their own body limit (see main.py).
PHOTO_PATH = "/v1/media/photos"

Digest = Annotated[str, Path(pattern=r"^[0-9a-f]{64}$", description="SHA-256 of the photo")]
IMAGE_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            kind: {"schema": {"type": "string", "format": "binary"}}
            for kind in ("image/jpeg", "image/png", "image/webp")
        },
    }
}


def _to_photo_read(photo, request: Request) -> PhotoRead:
    url = str(request.url_for("get_photo", digest=photo.sha256))
    return PhotoRead.model_validate({**photo.__dict__, "url": url})


@router.post(
    PHOTO_PATH.removeprefix(router.prefix),
    status_code=status.HTTP_201_CREATED,
    response_model=PhotoRead,
    openapi_extra=IMAGE_BODY,
    responses=problem_responses(400, 413, 415, 422),
)
async def upload_photo(
    request: Request, response: Response, session: SessionDep, principal: CurrentPrincipal
) -> PhotoRead:
    """Upload one image as the raw request body (JPEG, PNG or WebP). EXIF, GPS included,
    is stripped; the answer names the photo by the SHA-256 of the stored bytes, which
    signs and reports then refer to. Uploading the same photo twice is harmless. Without
    a key, uploads share the small per-address bucket of problem reports."""
    data = await request.body()
    settings = request.app.state.settings
    photo = await run_in_threadpool(
        service.store_photo,
        session,
        DiskStore(settings.media_dir),
        data,
        max_bytes=settings.media_max_bytes,
        actor=principal.actor,
    )
    response.headers["Location"] = str(request.url_for("get_photo", digest=photo.sha256))
    return _to_photo_read(photo, request)


@router.get(
    "/photos/{digest}",
    response_class=Response,
    responses={
        200: {"content": {"image/jpeg": {}, "image/png": {}, "image/webp": {}}},
        **problem_responses(404, 422),
    },
)
def get_photo(request: Request, session: SessionDep, digest: Digest) -> Response:
    photo, data = service.get_photo(
        session, DiskStore(request.app.state.settings.media_dir), digest
    )
    # Content-addressed: the bytes behind a name never change.
    return Response(
        data,
        media_type=photo.content_type,
        headers={"Cache-Control": "public, max-age=31536000, immutable", "ETag": f'"{digest}"'},
    )
