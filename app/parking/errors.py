from app.core.errors import Conflict, NotFound


class NoCarPark(NotFound):
    template = "facility {facility_id} has no parking use to report occupancy for"


class OutOfOrderReport(Conflict):
    template = (
        "realtime_data_updated_at: {observed_at} is older than the stored report of "
        "{stored_at}; nothing was changed"
    )


class ConflictingReport(Conflict):
    template = (
        "realtime_data_updated_at: a different report for {observed_at} is already stored; "
        "nothing was changed"
    )
