from app.core.errors import AppError, Conflict, NotFound


class IdentifierTaken(Conflict):
    def __init__(self, sender: str, identifier: str) -> None:
        super().__init__(
            f"identifier: {sender} already sent {identifier!r} with other content; a change "
            "is an Update with a new identifier that references it"
        )


class AlertNotFound(NotFound):
    def __init__(self, alert_id: int) -> None:
        super().__init__(f"alert {alert_id} does not exist")


class StreamsUnavailable(AppError):
    status, type, title = 503, "/problems/streams-unavailable", "Streams unavailable"
    retry_after = 5


def too_many_streams(limit: int) -> StreamsUnavailable:
    return StreamsUnavailable(f"this server process holds its {limit} alert streams; retry later")


def not_listening() -> StreamsUnavailable:
    return StreamsUnavailable("alert changes cannot be followed now (no database); retry later")


def shutting_down() -> StreamsUnavailable:
    return StreamsUnavailable("this server is shutting down; retry, and another will answer")


class ClientStreamsExceeded(AppError):
    status, type, title = 429, "/problems/too-many-streams", "Too many streams"
    retry_after = 5

    def __init__(self, bound: int) -> None:
        super().__init__(
            f"this client (its key, or its address without one) holds {bound} open alert "
            "streams, the most one client may (RF_ALERT_STREAMS_PER_CLIENT): close one, or "
            "retry later"
        )
