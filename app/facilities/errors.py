from app.core.errors import Conflict, NotFound


class FacilityNotFound(NotFound):
    template = "facility {facility_id} does not exist"


class FacilityGone(NotFound):
    status, type, title = 410, "/problems/gone", "Gone"

    template = "facility {facility_id} was deleted"


class DuplicateCode(Conflict):
    template = "code: registry code {code} is already used by another facility"


class FacilityNotYet(NotFound):
    template = "facility {facility_id} did not exist yet at {as_of}"


class CodeNotFound(NotFound):
    template = "no facility has the registry code {code}"
