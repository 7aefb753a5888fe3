"""Live shelter status, on the rules of parking occupancy: reports are time-stamped, a
report older than the stored one or above capacity plus the tolerance is refused whole,
the same report again changes nothing, and a figure older than the staleness age is never
shown as current. The history is every accepted report (shelter_status)."""

from datetime import datetime

from sqlalchemy import Boolean, Integer, Select, bindparam, case, func, select, text
from sqlalchemy.orm import Session

from app.core.dates import check_observed_at
from app.core.errors import Conflict, InvalidInput, NotFound
from app.core.schemas import TimeWindow
from app.facilities.models import Facility
from app.shelters.models import SHELTER_WORK, ShelterState, ShelterStatus
from app.shelters.schemas import (
    ShelterStatusHistory,
    ShelterStatusRead,
    ShelterStatusRecord,
    ShelterStatusReport,
)

# As SQL over the latest report `s` and the work `c`: the freshness rule of parking
# figures (occupancy_fresh, migration 0008), and the places free by a fresh report.
FRESH = "coalesce(occupancy_fresh(s.observed_at, :stale_after_s), false)"
FREE_PLACES = (
    f"CASE WHEN {FRESH} THEN CASE WHEN s.state = 'open' "
    "THEN greatest(c.capacity_persons - s.persons_inside, 0) ELSE 0 END END"
)

# The same rules over a `facility` row in SQLAlchemy Core, for the OGC shelters collection
# and the shelters tile layer: the latest report (a lateral subquery to join), and what it
# shows. A stale report shows its time only.
LATEST = (
    select(ShelterStatus.state, ShelterStatus.persons_inside, ShelterStatus.observed_at)
    .where(ShelterStatus.facility_id == Facility.id)
    .order_by(ShelterStatus.observed_at.desc())
    .limit(1)
    .lateral("live")
)
STALE_AFTER_S = bindparam("shelter_stale_after_s", type_=Integer)
LIVE_FRESH = func.coalesce(
    func.occupancy_fresh(LATEST.c.observed_at, STALE_AFTER_S, type_=Boolean), False
)
LIVE_STATE = case((LIVE_FRESH, LATEST.c.state))
LIVE_PERSONS = case((LIVE_FRESH, LATEST.c.persons_inside))
LIVE_FREE_PLACES = case(
    (
        LIVE_FRESH,
        case(
            (
                LATEST.c.state == ShelterState.open,
                func.greatest(Facility.capacity_persons - LATEST.c.persons_inside, 0),
            ),
            else_=0,
        ),
    )
)
# When a fresh report goes stale by time alone, with no write: what a cached copy of it
# (a vector tile) must be renewed by.
LIVE_FRESH_UNTIL = case(
    (LIVE_FRESH, LATEST.c.observed_at + func.make_interval(0, 0, 0, 0, 0, 0, STALE_AFTER_S))
)


class NotAShelter(NotFound):
    def __init__(self, facility_id: int) -> None:
        super().__init__(
            f"facility {facility_id} is no shelter in service with a capacity to report on"
        )


def shelter_capacity(session: Session, facility_id: int, *, lock: bool = False) -> int:
    """The work's capacity in persons; its row is locked for the report when `lock`, so
    that reports on one shelter are taken one at a time."""
    sql = f"SELECT capacity_persons FROM facility WHERE id = :id AND {SHELTER_WORK}"
    if lock:
        sql += " FOR NO KEY UPDATE"
    capacity = session.execute(text(sql), {"id": facility_id}).scalar_one_or_none()
    if capacity is None:
        raise NotAShelter(facility_id)
    return capacity


def latest(session: Session, facility_id: int) -> ShelterStatus | None:
    return session.scalar(
        select(ShelterStatus)
        .where(ShelterStatus.facility_id == facility_id)
        .order_by(ShelterStatus.observed_at.desc())
        .limit(1)
    )


def to_status_read(
    stored: ShelterStatus | None, capacity: int, *, now: datetime, stale_after_s: int
) -> ShelterStatusRead:
    """The Python twin of FRESH and FREE_PLACES, for one shelter."""
    if stored is None:
        return ShelterStatusRead(
            state=None,
            persons_inside=None,
            free_places=None,
            capacity_persons=capacity,
            observed_at=None,
            age_seconds=None,
            stale=True,
        )
    age = max(0, int((now - stored.observed_at).total_seconds()))
    stale = age > stale_after_s
    free = None
    if not stale:
        free = max(capacity - stored.persons_inside, 0) if stored.state == ShelterState.open else 0
    return ShelterStatusRead(
        state=None if stale else stored.state,
        persons_inside=None if stale else stored.persons_inside,
        free_places=free,
        capacity_persons=capacity,
        observed_at=stored.observed_at,
        age_seconds=age,
        stale=stale,
    )


def push(
    session: Session,
    facility_id: int,
    report: ShelterStatusReport,
    *,
    now: datetime,
    stale_after_s: int,
    clock_skew_s: int,
    tolerance: float,
    actor: str | None,
) -> ShelterStatusRead:
    capacity = shelter_capacity(session, facility_id, lock=True)
    observed = report.observed_at
    check_observed_at("observed_at", observed, now=now, clock_skew_s=clock_skew_s)
    most = int(capacity * (1 + tolerance))
    if report.persons_inside > most:
        raise InvalidInput.on(
            "persons_inside",
            f"{report.persons_inside} exceeds the {capacity} places of the shelter by more "
            f"than the tolerated {tolerance:.0%} ({most})",
        )
    stored = latest(session, facility_id)
    if stored is not None and observed < stored.observed_at:
        raise Conflict(
            f"observed_at: {observed.isoformat()} is older than the stored report of "
            f"{stored.observed_at.isoformat()}; nothing was changed"
        )
    if stored is not None and observed == stored.observed_at:
        if (stored.state, stored.persons_inside) != (report.state, report.persons_inside):
            raise Conflict(
                f"observed_at: a different report for {observed.isoformat()} is already "
                "stored; nothing was changed"
            )
    else:
        stored = ShelterStatus(
            facility_id=facility_id,
            observed_at=observed,
            state=report.state,
            persons_inside=report.persons_inside,
            reported_by=actor,
        )
        session.add(stored)
        session.flush()
    return to_status_read(stored, capacity, now=now, stale_after_s=stale_after_s)


def history_query(
    facility_id: int, *, since: datetime, until: datetime, limit: int
) -> Select[tuple[ShelterStatus]]:
    """Bounded in time, so that it reads only the months asked for (partitions, 0025)."""
    return (
        select(ShelterStatus)
        .where(
            ShelterStatus.facility_id == facility_id,
            ShelterStatus.observed_at >= since,
            ShelterStatus.observed_at <= until,
        )
        .order_by(ShelterStatus.observed_at)
        .limit(limit)
    )


def history(
    session: Session, facility_id: int, window: TimeWindow, *, reporters: bool
) -> ShelterStatusHistory:
    """The reports in `window`, naming the key that sent each only when `reporters`."""
    shelter_capacity(session, facility_id)
    query = history_query(facility_id, since=window.since, until=window.until, limit=window.limit)
    records = [ShelterStatusRecord.model_validate(r) for r in session.scalars(query)]
    if not reporters:
        records = [r.model_copy(update={"reported_by": None}) for r in records]
    return ShelterStatusHistory.of(facility_id, window, records)
