from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core.schemas import TimeWindow
from app.facilities.models import Facility
from app.parking.models import ParkingOccupancy
from app.uses.models import PeacetimeUse, UseType


def history(session: Session, facility_id: int, window: TimeWindow) -> list[ParkingOccupancy]:
    return list(
        session.scalars(
            select(ParkingOccupancy)
            .where(
                ParkingOccupancy.facility_id == facility_id,
                ParkingOccupancy.observed_at >= window.since,
                ParkingOccupancy.observed_at <= window.until,
            )
            .order_by(ParkingOccupancy.observed_at)
            .limit(window.limit)
        )
    )


def gone_stale(session: Session, *, since: datetime, until: datetime) -> list[Any]:
    """Car parks of live works whose latest occupancy figure was observed in
    (`since`, `until`]: stale now, and lately."""
    return list(
        session.execute(
            select(
                PeacetimeUse.facility_id,
                PeacetimeUse.realtime_observed_at,
                Facility.code,
                Facility.name,
            )
            .join(Facility, Facility.id == PeacetimeUse.facility_id)
            .where(
                PeacetimeUse.type == UseType.parking,
                PeacetimeUse.realtime_observed_at > since,
                PeacetimeUse.realtime_observed_at <= until,
                Facility.deleted_at.is_(None),
            )
            .order_by(PeacetimeUse.facility_id)
        )
    )
