from app.core.errors import Conflict, NotFound


class ReportNotFound(NotFound):
    template = "report {report_id} does not exist"


class BadTransition(Conflict):
    pass
