from datetime import datetime

from app.core.errors import Conflict, NotFound


class NoCarPark(NotFound):
    def __init__(self, facility_id: int) -> None:
        super().__init__(f"facility {facility_id} has no parking use to report occupancy for")


class OutOfOrderReport(Conflict):
    def __init__(self, observed_at: datetime, stored_at: datetime) -> None:
        super().__init__(
            f"realtime_data_updated_at: {observed_at.isoformat()} is older than the stored "
            f"report of {stored_at.isoformat()}; nothing was changed"
        )


class ConflictingReport(Conflict):
    def __init__(self, observed_at: datetime) -> None:
        super().__init__(
            f"realtime_data_updated_at: a different report for {observed_at.isoformat()} "
            "is already stored; nothing was changed"
        )
