from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core.schemas import TimeWindow
from app.parking.models import ParkingOccupancy


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
