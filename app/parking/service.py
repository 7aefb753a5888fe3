from datetime import datetime

from sqlalchemy.orm import Session

from app.core.dates import check_observed_at
from app.core.errors import InvalidInput
from app.core.schemas import TimeWindow
from app.parking import repository
from app.parking.errors import ConflictingReport, NoCarPark, OutOfOrderReport
from app.parking.models import ParkingOccupancy
from app.parking.schemas import OccupancyHistory, OccupancyRecord, OccupancyReport
from app.uses import repository as uses
from app.uses.models import PeacetimeUse
from app.uses.schemas import Availability
from app.uses.service import availability


def car_park(session: Session, facility_id: int, *, for_update: bool = False) -> PeacetimeUse:
    use = uses.get_parking(session, facility_id, for_update=for_update)
    if use is None:
        raise NoCarPark(facility_id=facility_id)
    return use


def push(
    session: Session,
    facility_id: int,
    report: OccupancyReport,
    *,
    now: datetime,
    stale_after_s: int,
    clock_skew_s: int,
) -> Availability:
    """Accept a report, or reject it whole. Pushes are serialised per car park by the row lock."""
    use = car_park(session, facility_id, for_update=True)
    observed = report.realtime_data_updated_at
    check_observed_at("realtime_data_updated_at", observed, now=now, clock_skew_s=clock_skew_s)
    if report.realtime_free_capacity > use.total_spaces:
        raise InvalidInput.on(
            "realtime_free_capacity",
            f"{report.realtime_free_capacity} free exceeds the {use.total_spaces} spaces of the car park",
        )
    free_piles = report.realtime_free_charging_piles
    if free_piles is not None and free_piles > (use.charging_piles or 0):
        raise InvalidInput.on(
            "realtime_free_charging_piles",
            f"{free_piles} free exceeds the {use.charging_piles or 0} charging piles of the car park",
        )
    stored = use.realtime_observed_at
    if stored is not None and observed < stored:
        raise OutOfOrderReport(observed_at=observed.isoformat(), stored_at=stored.isoformat())
    if stored is not None and observed == stored:
        same = (
            use.realtime_free_spaces,
            use.realtime_free_charging_piles,
            use.realtime_opening_status,
        ) == (report.realtime_free_capacity, free_piles, report.realtime_opening_status)
        if not same:
            raise ConflictingReport(observed_at=observed.isoformat())
    else:
        # A repeated identical push falls through the branch above and changes nothing.
        use.realtime_free_spaces = report.realtime_free_capacity
        use.realtime_free_charging_piles = free_piles
        use.realtime_opening_status = report.realtime_opening_status
        use.realtime_observed_at = observed
        session.add(
            ParkingOccupancy(
                facility_id=facility_id,
                observed_at=observed,
                free_spaces=report.realtime_free_capacity,
                free_charging_piles=free_piles,
                opening_status=report.realtime_opening_status,
            )
        )
        session.flush()
    return availability(use, now=now, stale_after_s=stale_after_s)


def history(session: Session, facility_id: int, window: TimeWindow) -> OccupancyHistory:
    car_park(session, facility_id)
    rows = repository.history(session, facility_id, window)
    return OccupancyHistory.of(
        facility_id,
        window,
        [
            OccupancyRecord(
                realtime_free_capacity=r.free_spaces,
                realtime_free_charging_piles=r.free_charging_piles,
                realtime_opening_status=r.opening_status,
                realtime_data_updated_at=r.observed_at,
                received_at=r.received_at,
            )
            for r in rows
        ],
    )
