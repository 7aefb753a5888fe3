from app.core.errors import Conflict, NotFound


class ReportNotFound(NotFound):
    template = "report {report_id} does not exist"

    def __init__(self, report_id: object) -> None:
        super().__init__(self.template.format(report_id=report_id))


class BadTransition(Conflict):
    pass
