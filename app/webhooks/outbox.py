"""How a domain announces an event: a row in the outbox, in the domain's own transaction.

The domains call these; this package never imports a domain. What leaves the outbox, and
when, is the worker's (app/webhooks/worker.py)."""

from typing import Any

from sqlalchemy import any_, exists, insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from app.audit.service import jsonable
from app.webhooks.models import Event, WebhookEpisode, WebhookOutbox, WebhookSubscription


def enqueue(
    session: Session, event: Event, data: dict[str, Any], *, facility_id: int | None = None
) -> None:
    """Sent, at least once, to every subscription that wants `event` and whose scope holds
    `facility_id`, if and when the caller's transaction commits."""
    session.execute(
        insert(WebhookOutbox).values(event_type=event, facility_id=facility_id, data=jsonable(data))
    )


def enqueue_once(
    session: Session,
    event: Event,
    subject: str,
    data: dict[str, Any],
    *,
    facility_id: int | None = None,
) -> bool:
    """`enqueue`, unless this episode (`subject`, e.g. an item and the day it fell due) was
    sent before; whether it is sent now."""
    inserted = session.execute(
        pg_insert(WebhookEpisode)
        .values(event_type=event, subject=subject)
        .on_conflict_do_nothing()
        .returning(WebhookEpisode.subject)
    ).first()
    if inserted is None:
        return False
    enqueue(session, event, data, facility_id=facility_id)
    return True


def wanted(session: Session, event: Event) -> bool:
    """Whether any subscription asks for `event`: a sweep with no listener does no work."""
    return bool(
        session.scalar(select(exists().where(event.value == any_(WebhookSubscription.events))))
    )
