"""Receiving CAP messages and answering which alerts are in force."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from app.accounts.errors import Forbidden
from app.accounts.models import Role
from app.accounts.principal import Principal
from app.alerts import cap, repository, rules
from app.alerts.errors import AlertNotFound, IdentifierTaken
from app.alerts.models import Alert, AlertInfo
from app.alerts.schemas import MessageFields
from app.audit import service as audit
from app.core.errors import InvalidInput
from app.webhooks import outbox
from app.webhooks.models import Event

# What webhook subscribers hear of each kind of message; Ack and Error are not announced.
WEBHOOK_EVENTS = {
    "Alert": Event.alert_received,
    "Update": Event.alert_updated,
    "Cancel": Event.alert_cancelled,
}


@dataclass(frozen=True)
class Received:
    alert: Alert
    created: bool
    ended: list[int]


def receive(
    session: Session, message: cap.Message, *, principal: Principal, now: datetime
) -> Received:
    """Stores a validated message and acts on what it references: an Update or a Cancel
    ends it when it takes effect itself, at once or at its time ahead (hub.coming tells
    the streams then). The same message sent again changes nothing; the same identifier
    with other content is refused. Nothing is stored unless all of it is."""
    known = repository.by_identifier(session, message.sender, message.identifier)
    if known is not None:
        if known.document_sha256 != message.sha256:
            raise IdentifierTaken(message.sender, message.identifier)
        return Received(known, created=False, ended=[])
    referenced = _referenced(session, message, principal)
    infos = message.infos
    effective = min((rules.takes_effect(i, sent=message.sent) for i in infos), default=message.sent)
    expiries = [i.expires for i in infos]
    alert = Alert(
        **{name: getattr(message, name) for name in MessageFields.model_fields},
        references=[",".join(r) for r in message.references],
        air_raid=any(rules.air_raid(i) for i in infos),
        open_restricted=any(rules.opens_restricted(i) for i in infos),
        effective_at=effective,
        expires_at=None if not expiries or None in expiries else max(expiries),  # type: ignore[type-var]
        document=message.document,
        document_sha256=message.sha256,
        received_from=principal.actor,
    )
    session.add(alert)
    session.flush()
    _store_infos(session, alert, infos)
    ends_at = max(effective, now)
    ended = repository.end(session, referenced, by=alert.id, at=ends_at) if referenced else []
    audit.record(
        session,
        actor=principal.actor,
        action=f"alert.{message.msg_type.lower()}",
        entity="alert",
        entity_id=str(alert.id),
        changes={
            "identifier": {"old": None, "new": message.identifier},
            "ended": {"old": None, "new": ended},
        },
    )
    change = event(alert, change=message.msg_type.lower(), ended=ended if ends_at == now else [])
    repository.notify(session, change)
    if message.msg_type in WEBHOOK_EVENTS:
        outbox.enqueue(session, WEBHOOK_EVENTS[message.msg_type], change)
    return Received(alert, created=True, ended=ended)


def _referenced(session: Session, message: cap.Message, principal: Principal) -> list[int]:
    """The stored messages an Update or Cancel acts on. `sender` is what a message says of
    itself: any authority's key could write another's, so only the key that posted a
    message (or an admin, when an authority's key has been replaced) acts on it."""
    ids = []
    for sender, identifier, sent in message.references:
        where = f"references: {sender},{identifier},{sent}"
        if sender != message.sender:
            raise InvalidInput.on("references", f"{where}: a sender acts on its own messages only")
        found = repository.by_identifier(session, sender, identifier)
        if found is None:
            raise InvalidInput.on("references", f"{where} names no stored message")
        if found.msg_type == "Cancel":
            raise InvalidInput.on("references", f"{where} is a Cancel, which nothing follows")
        if principal.role != Role.admin and found.received_from != principal.actor:
            raise Forbidden(
                f"{where} was posted with another key: only that key or an admin acts on it"
            )
        ids.append(found.id)
    return ids


def _store_infos(session: Session, alert: Alert, infos: list[cap.Info]) -> None:
    codes = sorted({c for info in infos for area in info.areas for c in area.admin_codes})
    missing = repository.divisions_without_boundary(session, codes) if codes else []
    if missing:
        raise InvalidInput.on(
            "info.area.geocode",
            f"{', '.join(missing)}: no division with a boundary has this GB/T 2260 code",
        )
    for position, info in enumerate(infos):
        row = AlertInfo(
            alert_id=alert.id,
            position=position,
            **{name: getattr(info, name) for name in repository.INFO_COLUMNS},
        )
        session.add(row)
        session.flush()
        for j, area in enumerate(info.areas):
            if not repository.add_area(session, info_id=row.id, alert_id=alert.id, area=area):
                raise InvalidInput.on(f"info[{position}].area[{j}]", "its shapes enclose no area")


def event(alert: Alert, *, change: str, ended: list[int]) -> dict[str, Any]:
    """What a stream hears of a change: enough to decide whether to fetch the alert."""
    return {
        "change": change,
        "id": alert.id,
        "identifier": alert.identifier,
        "sender": alert.sender,
        "status": alert.status,
        "msg_type": alert.msg_type,
        "drill": alert.status != rules.REAL,
        "air_raid": alert.air_raid,
        "effective_at": alert.effective_at.isoformat(),
        "expires_at": alert.expires_at.isoformat() if alert.expires_at else None,
        "ended": ended,
    }


def coming(session: Session, *, now: datetime) -> list[tuple[datetime, dict[str, Any]]]:
    """The changes that come with time alone, soonest first, as (when, event): a message
    taking effect (`effective`; an Update or a Cancel lists what it ends), an alert in
    force or to come expiring (`expired`)."""
    rows = repository.next_changes(session, now=now)
    ids = [row.id for row in rows]
    alerts = {a.id: a for a in repository.documents(session, ids)}
    ends = repository.ended_by(session, ids)
    return [
        (
            row.at,
            event(
                alerts[row.id],
                change=row.change,
                ended=[row.id] if row.change == "expired" else ends[row.id],
            ),
        )
        for row in rows
        if row.id in alerts
    ]


def get(session: Session, alert_id: int) -> Alert:
    alert = repository.get(session, alert_id)
    if alert is None:
        raise AlertNotFound(alert_id)
    return alert


def answers(session: Session, alerts: list[Alert], *, now: datetime) -> list[dict[str, Any]]:
    """The alerts as answers show them (AlertRead), with their info blocks and whether each
    is in force at `now`."""
    ids = [a.id for a in alerts]
    infos = repository.infos(session, ids)
    in_force = repository.in_force_among(session, ids, now=now) if ids else set()
    return [_answer(a, infos.get(a.id, []), in_force=a.id in in_force) for a in alerts]


def _answer(alert: Alert, infos: list[dict[str, Any]], *, in_force: bool) -> dict[str, Any]:
    return {
        "id": alert.id,
        **{name: getattr(alert, name) for name in MessageFields.model_fields},
        "references": alert.references,
        "drill": alert.status != rules.REAL,
        "air_raid": alert.air_raid,
        "open_restricted": alert.open_restricted,
        "effective_at": alert.effective_at,
        "expires_at": alert.expires_at,
        "ended_at": alert.ended_at,
        "ended_by": alert.ended_by,
        "in_force": in_force,
        "infos": infos,
    }


def in_force(
    session: Session, *, now: datetime, lon: float | None = None, lat: float | None = None
) -> list[Alert]:
    return repository.documents(session, repository.in_force(session, now=now, lon=lon, lat=lat))


def covering(session: Session, *, lon: float, lat: float, now: datetime) -> list[dict[str, Any]]:
    """The alerts in force over a WGS 84 point, as the short form that answers carry."""
    return [
        {
            "id": row["id"],
            "identifier": row["identifier"],
            "sender": row["sender"],
            "status": row["status"],
            "msg_type": row["msg_type"],
            "events": sorted(row["events"] or []),
            "headline": row["headline"],
            "sent": row["sent"].isoformat(),
            "expires_at": row["expires_at"].isoformat() if row["expires_at"] else None,
            "air_raid": row["air_raid"],
            "open_restricted": row["open_restricted"],
            # Said in the answer: an Exercise or Test never switches it.
            "drill": row["status"] != rules.REAL,
        }
        for row in repository.covering(session, lon=lon, lat=lat, now=now)
    ]


def alert_mode(alerts: list[dict[str, Any]]) -> bool:
    """Whether these alerts switch an answer to shelters: an Actual air raid among them."""
    return any(a["air_raid"] and not a["drill"] for a in alerts)


def atom_feed(alerts: list[Alert], *, now: datetime, self_url: str) -> str:
    """Alerts in force as an Atom feed, each entry carrying its CAP document as received
    (canonical XML), as CAP feeds are commonly published."""
    from xml.sax.saxutils import escape

    entries = "".join(
        "<entry>"
        f"<id>urn:rf:alert:{a.id}</id>"
        f"<title>{escape(a.identifier)}</title>"
        f"<updated>{a.sent.isoformat()}</updated>"
        f'<content type="application/cap+xml">{a.document}</content>'
        "</entry>"
        for a in alerts
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<feed xmlns="http://www.w3.org/2005/Atom">'
        f"<id>{escape(self_url)}</id><title>Alerts in force</title>"
        f"<updated>{now.isoformat()}</updated>{entries}</feed>"
    )
