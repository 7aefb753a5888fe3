"""`rf stats`, registered on the `rf` command in app/cli.py."""

from rich.console import Console
from rich.table import Table
from sqlalchemy.orm import Session

from app.db.session import command_connection
from app.stats import service as stats


def stats_command() -> None:
    """A short summary: facilities by city, status and wartime function, with parking spaces."""
    console = Console()
    with command_connection() as connection, connection.begin(), Session(connection) as session:
        summary = stats.summary(session)
    table = Table(title="Facilities by city", title_justify="left")
    for header in ("city", "code", "facilities", "in service", "shelter persons", "parking spaces"):
        table.add_column(header, justify="left" if header in ("city", "code") else "right")
    for row in summary["cities"]:
        table.add_row(*(f"{v:,}" if isinstance(v, int) else str(v or "") for v in row))
    console.print(table)
    for title, rows in (("Status", summary["status"]), ("Wartime function", summary["function"])):
        small = Table(title=title, title_justify="left")
        small.add_column(title.lower())
        small.add_column("facilities", justify="right")
        for name, count in rows:
            small.add_row(str(name), f"{count:,}")
        console.print(small)
