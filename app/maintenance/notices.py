"""Maintenance falling overdue, announced to webhook subscribers once per episode: an item
of a work whose due day has passed, until a check moves the day on (app.webhooks)."""

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from app.accounts.models import Role
from app.accounts.principal import Principal
from app.maintenance import repository
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
    today = now.astimezone().date()
    sent, after = 0, (0, "")
    while True:
        rows = repository.overdue(
            session,
            principal=EVERY_WORK,
            level=None,
            admin_code=None,
            on=today,
            after=after,
            limit=PAGE,
            due_from=today - timedelta(days=LOOKBACK_DAYS),
        )
        for row in rows:
            sent += outbox.enqueue_once(
                session,
                Event.maintenance_overdue,
                f"{row['facility_id']}:{row['item_code']}:{row['overdue_since']}",
                {
                    "facility_id": row["facility_id"],
                    "code": row["code"],
                    "name": row["name"],
                    "admin_code": row["admin_code"],
                    "item_code": row["item_code"],
                    "discipline": row["discipline"],
                    "last_done_on": row["last_done_on"],
                    "overdue_since": row["overdue_since"],
                },
                facility_id=row["facility_id"],
            )
        if len(rows) < PAGE:
            return sent
        after = (rows[-1]["facility_id"], rows[-1]["item_code"])
