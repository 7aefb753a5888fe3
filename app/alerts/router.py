from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse

from app.accounts.dependencies import CurrentPrincipal, require_roles
from app.accounts.models import Role
from app.accounts.principal import Principal
from app.alerts import cap, service
from app.alerts.schemas import ActiveAlerts, AlertRead, AlertReceived
from app.alerts.stream import EventStream
from app.core.errors import (
    BadRequest,
    InvalidInput,
    UnsupportedMedia,
    problem_responses,
)
from app.core.geo import CoordSys, position_to_wgs84
from app.core.middleware import client_address
from app.db.session import SessionDep

router = APIRouter(prefix="/v1/alerts", tags=["alerts"])
# What is in force changes the moment an alert is posted: a cache asks again every time.
LIVE = {"Cache-Control": "no-cache"}
# CAP messages have their own body limit (main.py).
ALERTS_PATH = "/v1/alerts"
CAP_XML = "application/cap+xml"
XML_TYPES = frozenset({"application/xml", "text/xml", CAP_XML})
CAP_BODY = {
    "requestBody": {
        "required": True,
        "content": {kind: {"schema": {"type": "string"}} for kind in sorted(XML_TYPES)},
    }
}
# A CAP document comes back as its sender wrote it, and the schema lets a signature carry
# any markup (xmldsig, processContents="skip"): a browser that renders XML must run none
# of it on this origin, where the console keeps a key.
DOCUMENT = {
    "Content-Security-Policy": "default-src 'none'; sandbox",
    "X-Content-Type-Options": "nosniff",
}
AlertWriter = Annotated[Principal, Depends(require_roles(Role.admin, Role.alert_authority))]


class AlertFormat(StrEnum):
    json = "json"
    cap = "cap"


def _wants_cap(request: Request, f: AlertFormat | None) -> bool:
    if f is not None:
        return f == AlertFormat.cap
    accept = request.headers.get("accept", "")
    return CAP_XML in accept or "application/xml" in accept


@router.post(
    "",
    status_code=201,
    response_model=AlertReceived,
    openapi_extra=CAP_BODY,
    responses={
        200: {"model": AlertReceived, "description": "the same message, received before"},
        **problem_responses(400, 403, 409, 413, 415, 422),
    },
)
async def post_alert(
    request: Request, response: Response, session: SessionDep, principal: AlertWriter
) -> AlertReceived:
    """A CAP 1.2 message (Alert, Update or Cancel; status Actual, Exercise or Test) as the
    raw XML body. Validated against the OASIS schema; a DTD or entity declaration is
    refused (400). Areas: `<polygon>`, `<circle>` and `<geocode>` with valueName
    `GB/T 2260` naming division codes. The same message again answers 200 and changes
    nothing. An Update or Cancel acts only on messages posted with the same key (an admin's
    on any; 403 otherwise). The info parameter `rf:openRestrictedWorks` = `true` opens the restricted
    works in the area to the shelter finder while the alert is in force."""
    media = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if media not in XML_TYPES:
        raise UnsupportedMedia(f"send the CAP message as {' or '.join(sorted(XML_TYPES))}")
    data = await request.body()
    if not data:
        raise BadRequest("the body is empty: send a CAP 1.2 message")
    now = datetime.now(UTC)

    def store() -> tuple[AlertReceived, bool]:
        message = cap.parse(data)
        received = service.receive(session, message, principal=principal, now=now)
        [answer] = service.answers(session, [received.alert], now=now)
        return AlertReceived.model_validate({**answer, "ended": received.ended}), received.created

    answer, created = await run_in_threadpool(store)
    if not created:
        response.status_code = 200
    response.headers["Location"] = str(request.url_for("get_alert", alert_id=answer.id))
    return answer


@router.get(
    "/active",
    response_model=ActiveAlerts,
    responses={
        200: {"content": {"application/atom+xml": {}}},
        **problem_responses(422),
    },
)
def active_alerts(
    request: Request,
    response: Response,
    session: SessionDep,
    lon: Annotated[float | None, Query(ge=-180, le=180)] = None,
    lat: Annotated[float | None, Query(ge=-90, le=90)] = None,
    coordsys: Annotated[CoordSys, Query(description="system of lon/lat")] = CoordSys.wgs84,
    f: Annotated[AlertFormat | None, Query(description="json, or cap: an Atom feed of CAP")] = None,
) -> ActiveAlerts | Response:
    """The alerts in force now, over the point when `lon` and `lat` are given (area
    geometry in WGS 84), newest first; drills (Exercise, Test) are marked `drill`."""
    if (lon is None) != (lat is None):
        raise InvalidInput.on("lat" if lat is None else "lon", "lon and lat go together")
    now = datetime.now(UTC)
    point = position_to_wgs84(lon, lat, coordsys) if lon is not None and lat is not None else None
    alerts = service.in_force(
        session, now=now, lon=point[0] if point else None, lat=point[1] if point else None
    )
    if _wants_cap(request, f):
        feed = service.atom_feed(alerts, now=now, self_url=str(request.url))
        return Response(feed, media_type="application/atom+xml", headers={**LIVE, **DOCUMENT})
    response.headers.update(LIVE)
    return ActiveAlerts(generated_at=now, items=service.answers(session, alerts, now=now))


@router.get(
    "/stream",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "alert changes"}},
)
async def alert_stream(request: Request, principal: CurrentPrincipal) -> StreamingResponse:
    """Server-Sent Events, one `alert` event per change (`change`: alert, update,
    cancel, effective, expired) with the alert's id and the ids it `ended`; a comment every
    15 s keeps the connection open. Read /v1/alerts/active on (re)connecting for the state.
    A client (a key, or an address without one) holds a bounded number of streams at
    once: one more is 429 until it closes one."""
    hub = request.app.state.alert_hub
    hub.start()
    # Once the hub listens, every change committed after the stream's first comment
    # reaches it.
    await hub.ready()
    client = (
        f"address {client_address(request.scope)}"
        if principal.anonymous
        else f"key {principal.key_id}"
    )
    subscription = hub.subscription(client)
    queue = await subscription.__aenter__()
    return EventStream(queue, subscription, is_disconnected=request.is_disconnected)


@router.get(
    "/{alert_id}",
    response_model=AlertRead,
    responses={200: {"content": {CAP_XML: {}}}, **problem_responses(404, 422)},
)
def get_alert(
    request: Request,
    session: SessionDep,
    alert_id: Annotated[int, Path(ge=1, le=2**63 - 1)],
    f: Annotated[AlertFormat | None, Query(description="json, or cap: the CAP message")] = None,
) -> AlertRead | Response:
    """One message as stored, in force or not; `f=cap` answers the CAP document."""
    alert = service.get(session, alert_id)
    if _wants_cap(request, f):
        return Response(alert.document, media_type=CAP_XML, headers=DOCUMENT)
    [answer] = service.answers(session, [alert], now=datetime.now(UTC))
    return AlertRead.model_validate(answer)
