from app.core.errors import NotFound


class SignNotFound(NotFound):
    template = "facility {facility_id} has no sign {sign_id}"

    def __init__(self, facility_id: int, sign_id: int) -> None:
        super().__init__(self.template.format(facility_id=facility_id, sign_id=sign_id))
