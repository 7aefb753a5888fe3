"""Parking occupancy feeds gone stale, announced to webhook subscribers once per episode:
a car park whose latest figure passed occupancy_stale_after_s, until a new figure comes
(app.webhooks)."""

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from app.parking import repository
from app.webhooks import outbox
from app.webhooks.models import Event

# Feeds that went stale within this window are announced; one silent for longer went
# stale before anyone could be told, and reads show it stale.
LOOKBACK = timedelta(days=1)


def sweep_stale(session: Session, *, now: datetime, stale_after_s: int) -> int:
    if not outbox.wanted(session, Event.occupancy_stale):
        return 0
    stale_from = now - timedelta(seconds=stale_after_s)
    sent = 0
    for row in repository.gone_stale(session, since=stale_from - LOOKBACK, until=stale_from):
        sent += outbox.enqueue_once(
            session,
            Event.occupancy_stale,
            f"{row.facility_id}:{row.realtime_observed_at.isoformat()}",
            {
                "facility_id": row.facility_id,
                "code": row.code,
                "name": row.name,
                "last_observed_at": row.realtime_observed_at,
                "stale_after_s": stale_after_s,
            },
            facility_id=row.facility_id,
        )
    return sent
