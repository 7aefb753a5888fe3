from app.core.errors import Conflict, NotFound


class FacilityNotFound(NotFound):
    template = "facility {facility_id} does not exist"

    def __init__(self, facility_id: int) -> None:
        super().__init__(self.template.format(facility_id=facility_id))


class FacilityGone(NotFound):
    status, type, title = 410, "/problems/gone", "Gone"

    template = "facility {facility_id} was deleted"

    def __init__(self, facility_id: int) -> None:
        super().__init__(self.template.format(facility_id=facility_id))


class DuplicateCode(Conflict):
    template = "code: registry code {code} is already used by another facility"

    def __init__(self, code: str) -> None:
        super().__init__(self.template.format(code=repr(code)))


class FacilityNotYet(NotFound):
    template = "facility {facility_id} did not exist yet at {as_of}"

    def __init__(self, facility_id: int, as_of: object) -> None:
        super().__init__(self.template.format(facility_id=facility_id, as_of=as_of))


class CodeNotFound(NotFound):
    template = "no facility has the registry code {code}"

    def __init__(self, code: str) -> None:
        super().__init__(self.template.format(code=code))
