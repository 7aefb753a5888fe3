from app.core.errors import Conflict, NotFound


class UseNotFound(NotFound):
    def __init__(self, facility_id: int, use_id: int) -> None:
        super().__init__(f"facility {facility_id} has no peacetime use {use_id}")


class SecondCarPark(Conflict):
    def __init__(self, facility_id: int) -> None:
        super().__init__(
            f"facility {facility_id} already has a parking use; occupancy is reported per "
            "facility, so change that one instead"
        )
