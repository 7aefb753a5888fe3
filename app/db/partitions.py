"""Keeps the monthly partitions of the tables that grow with time (occupancy history and
the audit trail, migration 0019; shelter status history, 0025): each process, at start
and every few hours, has the database make the coming months' partitions and, with a
retention set, drop the months of occupancy or shelter status history past it. The SQL
functions are idempotent and safe from several processes at once
(app/db/sql/functions/month_partitions.sql), so no process needs to be the one."""

import asyncio
import logging

from sqlalchemy import Connection, Engine, text
from starlette.concurrency import run_in_threadpool

from app.config import Settings

log = logging.getLogger(__name__)

PARTITIONED = ("parking_occupancy", "audit_event", "shelter_status")
MONTHS_AHEAD = 3
EVERY_S = 6 * 3600


def retention(settings: Settings) -> dict[str, int]:
    """Months kept of each table with a retention (0: all). The audit trail has none: it
    is the registry's evidence of who changed what."""
    return {
        "parking_occupancy": settings.occupancy_retention_months,
        "shelter_status": settings.shelter_status_retention_months,
    }


def keep(connection: Connection, settings: Settings) -> None:
    # A partition's DDL locks its busy parent: rather than queue writes behind it while a
    # long transaction holds the table, give up this turn (the next comes in hours).
    connection.execute(text("SET LOCAL lock_timeout = '2s'"))
    for table in PARTITIONED:
        connection.execute(
            text("SELECT month_partitions(:table, :ahead)"),
            {"table": table, "ahead": MONTHS_AHEAD},
        )
    for table, months in retention(settings).items():
        if not months:
            continue
        dropped = connection.scalar(
            text("SELECT drop_old_partitions(:table, :keep)"), {"table": table, "keep": months}
        )
        if dropped:
            log.info("dropped %d months of %s past retention", dropped, table)


def _keep(engine: Engine, settings: Settings) -> None:
    with engine.begin() as connection:
        keep(connection, settings)


async def keeper(engine: Engine, settings: Settings) -> None:
    """For as long as the process serves; a failure (the database away) waits its turn."""
    while True:
        try:
            await run_in_threadpool(_keep, engine, settings)
        except Exception as exc:  # noqa: BLE001 - tried again at the next turn
            log.warning("could not keep the monthly partitions: %s", exc)
        await asyncio.sleep(EVERY_S)
