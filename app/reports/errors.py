from app.core.errors import Conflict, NotFound


class ReportNotFound(NotFound):
    def __init__(self, report_id: object) -> None:
        super().__init__(f"report {report_id} does not exist")


class BadTransition(Conflict):
    pass
