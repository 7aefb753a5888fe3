from datetime import datetime

from app.core.errors import Conflict, NotFound


class NoCarPark(NotFound):
    template = "facility {facility_id} has no parking use to report occupancy for"

    def __init__(self, facility_id: int) -> None:
        super().__init__(self.template.format(facility_id=facility_id))


class OutOfOrderReport(Conflict):
    template = (
        "realtime_data_updated_at: {observed_at} is older than the stored report of "
        "{stored_at}; nothing was changed"
    )

    def __init__(self, observed_at: datetime, stored_at: datetime) -> None:
        super().__init__(
            self.template.format(
                observed_at=observed_at.isoformat(), stored_at=stored_at.isoformat()
            )
        )


class ConflictingReport(Conflict):
    template = (
        "realtime_data_updated_at: a different report for {observed_at} is already stored; "
        "nothing was changed"
    )

    def __init__(self, observed_at: datetime) -> None:
        super().__init__(self.template.format(observed_at=observed_at.isoformat()))
