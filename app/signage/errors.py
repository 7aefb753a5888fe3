from app.core.errors import NotFound


class SignNotFound(NotFound):
    def __init__(self, facility_id: int, sign_id: int) -> None:
        super().__init__(f"facility {facility_id} has no sign {sign_id}")
