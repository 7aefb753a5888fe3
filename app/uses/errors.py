from app.core.errors import Conflict, NotFound


class UseNotFound(NotFound):
    template = "facility {facility_id} has no peacetime use {use_id}"

    def __init__(self, facility_id: int, use_id: int) -> None:
        super().__init__(self.template.format(facility_id=facility_id, use_id=use_id))


class SecondCarPark(Conflict):
    template = (
        "facility {facility_id} already has a parking use; occupancy is reported per "
        "facility, so change that one instead"
    )

    def __init__(self, facility_id: int) -> None:
        super().__init__(self.template.format(facility_id=facility_id))
