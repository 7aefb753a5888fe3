from app.core.errors import NotFound


class SignNotFound(NotFound):
    template = "facility {facility_id} has no sign {sign_id}"
