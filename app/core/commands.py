"""What the `rf` commands share: a connection of their own, and a progress bar on
standard error."""

from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    SpinnerColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text
from sqlalchemy import Connection, create_engine

from app.config import Settings

err = Console(stderr=True)


@contextmanager
def connection(**server_settings: str) -> Iterator[Connection]:
    """A connection of the command's own, whose server session starts with these settings.
    In UTF-8 whatever the client's default (PGCLIENTENCODING, a role's): imports send
    their files' UTF-8 to COPY as bytes, as the API's engines do (db.session.connect_args)."""
    options = " ".join(f"-c {name}={value}" for name, value in server_settings.items())
    engine = create_engine(
        Settings().sqlalchemy_url,
        connect_args={"client_encoding": "UTF8", **({"options": options} if options else {})},
    )
    try:
        with engine.connect() as connection:
            yield connection
    finally:
        engine.dispose()


class _RowsPerSecond(ProgressColumn):
    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text("" if speed is None else f"{speed:,.0f} rows/s")


def progress_bar(enabled: bool) -> Progress:
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description:<9}"),
        BarColumn(),
        MofNCompleteColumn(),
        _RowsPerSecond(),
        TimeRemainingColumn(),
        TimeElapsedColumn(),
        console=err,
        disable=not enabled,
    )
