from app.core.errors import Conflict, NotFound


class UseNotFound(NotFound):
    template = "facility {facility_id} has no peacetime use {use_id}"


class SecondCarPark(Conflict):
    template = (
        "facility {facility_id} already has a parking use; occupancy is reported per "
        "facility, so change that one instead"
    )
