"""Photo uploads: check the real type from the bytes, decode, and re-encode, which drops
EXIF (and with it GPS positions) and any payload appended to the file."""

import hashlib
import io
import warnings

from PIL import Image, ImageOps, UnidentifiedImageError
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core.errors import InvalidInput, UnsupportedMedia
from app.media.errors import PhotoNotFound, PhotoTooLarge
from app.media.models import Photo
from app.media.storage import MediaStore

# Pillow format -> stored content type. Others (GIF, BMP, TIFF, SVG ...) are refused.
ACCEPTED = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
MAX_PIXELS = 40_000_000  # a decompression bomb guard: a sign photo needs far fewer


def store_photo(
    session: Session, store: MediaStore, data: bytes, *, max_bytes: int, actor: str | None
) -> Photo:
    if len(data) > max_bytes:
        raise PhotoTooLarge(f"file: {len(data)} bytes is over the limit of {max_bytes}")
    if not data:
        raise InvalidInput.on("file", "is empty")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            probe = Image.open(io.BytesIO(data))
            kind = probe.format
            if kind not in ACCEPTED:
                raise UnsupportedMedia(
                    f"file: {kind or 'unknown'} images are not accepted; send JPEG, PNG or WebP"
                )
            if probe.width * probe.height > MAX_PIXELS:
                raise PhotoTooLarge(f"file: {probe.width}x{probe.height} pixels is too many")
            probe.load()
    except UnidentifiedImageError as exc:
        raise UnsupportedMedia("file: not an image (JPEG, PNG or WebP)") from exc
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError, Warning) as exc:
        raise InvalidInput.on("file", f"the image cannot be decoded: {exc}") from exc
    # The orientation tag goes with the rest of EXIF, so apply it to the pixels first.
    image = ImageOps.exif_transpose(probe)
    if kind == "JPEG" and image.mode not in ("RGB", "L"):
        image = image.convert("RGB")
    out = io.BytesIO()
    # No exif=/pnginfo= given: Pillow writes none of the source metadata.
    image.save(out, format=kind, **({"quality": 90} if kind in ("JPEG", "WEBP") else {}))
    stored = out.getvalue()
    digest = hashlib.sha256(stored).hexdigest()
    store.put(digest, stored)
    photo = session.get(Photo, digest)
    if photo is None:
        photo = Photo(
            sha256=digest,
            content_type=ACCEPTED[kind],
            size_bytes=len(stored),
            width=image.width,
            height=image.height,
            uploaded_by=actor,
        )
        session.add(photo)
        session.flush()
    return photo


def get_photo(session: Session, store: MediaStore, digest: str) -> tuple[Photo, bytes]:
    photo = session.get(Photo, digest)
    data = store.get(digest) if photo else None
    if photo is None or data is None:
        raise PhotoNotFound(digest=digest)
    return photo, data


def check_exist(session: Session, digests: list[str], *, field: str, indexed: bool = True) -> None:
    """References to photos must name stored photos: upload first, then refer by hash."""
    if not digests:
        return
    known = set(session.scalars(select(Photo.sha256).where(Photo.sha256.in_(digests))))
    for index, digest in enumerate(digests):
        if digest not in known:
            name = f"{field}.{index}" if indexed else field
            raise InvalidInput.on(name, f"no uploaded photo has hash {digest}")
