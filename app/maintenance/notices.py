"""Maintenance falling overdue, announced to webhook subscribers once per episode: an item
of a work whose due day has passed, until a check moves the day on (app.webhooks)."""

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from app.accounts.models import Role
from app.accounts.principal import Principal
from app.core.dates import SHANGHAI
from app.maintenance import service
from app.webhooks import outbox
from app.webhooks.models import Event

# Items that fell due within these last days are announced: a sweep that missed a day (the
# service down) still sends them; an item overdue for longer was overdue before anyone
# subscribed, and the overdue list has it.
LOOKBACK_DAYS = 2
PAGE = 1000
EVERY_WORK = Principal(role=Role.admin)


def sweep_overdue(session: Session, *, now: datetime) -> int:
    """Enqueues an event for each item fallen overdue lately and not announced yet; how
    many were enqueued."""
    if not outbox.wanted(session, Event.maintenance_overdue):
        return 0
    today = now.astimezone(SHANGHAI).date()
    sent, cursor = 0, None
    while True:
        items, cursor = service.overdue(
            session,
            principal=EVERY_WORK,
            admin_code=None,
            on=today,
            cursor=cursor,
            limit=PAGE,
            due_from=today - timedelta(days=LOOKBACK_DAYS),
        )
        # Each event carries the item of GET /v1/maintenance/overdue, less the interval.
        for item in items:
            sent += outbox.enqueue_once(
                session,
                Event.maintenance_overdue,
                f"{item.facility_id}:{item.item_code}:{item.overdue_since}",
                item.model_dump(mode="json", exclude={"interval_months"}),
                facility_id=item.facility_id,
            )
        if cursor is None:
            return sent
