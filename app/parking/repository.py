from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.parking.models import ParkingOccupancy


def history(
    session: Session, facility_id: int, *, since: datetime, until: datetime, limit: int
) -> list[ParkingOccupancy]:
    return list(
        session.scalars(
            select(ParkingOccupancy)
            .where(
                ParkingOccupancy.facility_id == facility_id,
                ParkingOccupancy.observed_at >= since,
                ParkingOccupancy.observed_at <= until,
            )
            .order_by(ParkingOccupancy.observed_at)
            .limit(limit)
        )
    )
