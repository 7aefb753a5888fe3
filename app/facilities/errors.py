from app.core.errors import Conflict, NotFound


class FacilityNotFound(NotFound):
    def __init__(self, facility_id: int) -> None:
        super().__init__(f"facility {facility_id} does not exist")


class FacilityGone(NotFound):
    status, type, title = 410, "/problems/gone", "Gone"

    def __init__(self, facility_id: int) -> None:
        super().__init__(f"facility {facility_id} was deleted")


class DuplicateCode(Conflict):
    def __init__(self, code: str) -> None:
        super().__init__(f"code: registry code {code!r} is already used by another facility")


class FacilityNotYet(NotFound):
    def __init__(self, facility_id: int, as_of: object) -> None:
        super().__init__(f"facility {facility_id} did not exist yet at {as_of}")
