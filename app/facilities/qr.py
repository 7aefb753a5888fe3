"""QR codes for plaques (标识牌): the facility's public page, or a city's report form."""

import enum
import io

import segno

from app.core.errors import BadRequest, InvalidInput

# The public page of a work: the OGC item as HTML, which any phone opens.
PAGE = "{base}/ogc/collections/facilities/items/{id}?f=html"


class QrTarget(enum.StrEnum):
    page = "page"
    report = "report"


class QrFormat(enum.StrEnum):
    svg = "svg"
    png = "png"


MEDIA_TYPES = {QrFormat.svg: "image/svg+xml", QrFormat.png: "image/png"}


def target_url(
    target: QrTarget, *, base: str, facility_id: int, code: str, report_url: str | None
) -> str:
    template = PAGE if target == QrTarget.page else report_url
    if template is None:
        raise InvalidInput.on("query.target", "no report form is configured (RF_QR_REPORT_URL)")
    return template.format(base=base.rstrip("/"), id=facility_id, code=code)


def render(url: str, kind: QrFormat, *, scale: int) -> bytes:
    # Level M survives a scuffed or partly dirty plaque (15 % of the modules).
    try:
        code = segno.make(url, error="m", micro=False)
    except segno.DataOverflowError as exc:
        # The base comes from the request's Host unless RF_PUBLIC_URL says it.
        raise BadRequest(
            f"the address to encode is {len(url.encode())} bytes, more than a QR code "
            "holds; a shorter host name, or RF_PUBLIC_URL, makes it fit"
        ) from exc
    buffer = io.BytesIO()
    code.save(buffer, kind=kind.value, scale=scale, border=4)
    return buffer.getvalue()
