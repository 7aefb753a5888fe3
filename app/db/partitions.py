"""Keeps the monthly partitions of the tables that grow with time (occupancy history and
the audit trail, migration 0019): each process, at start and every few hours, has the
database make the coming months' partitions and, with a retention set, drop the occupancy
months past it. The SQL functions are idempotent and safe from several processes at once
(app/db/sql/functions/month_partitions.sql), so no process needs to be the one."""

import asyncio
import logging

from sqlalchemy import Connection, Engine, text
from starlette.concurrency import run_in_threadpool

from app.config import Settings

log = logging.getLogger(__name__)

PARTITIONED = ("parking_occupancy", "audit_event")
MONTHS_AHEAD = 3
EVERY_S = 6 * 3600


def keep(connection: Connection, settings: Settings) -> None:
    # A partition's DDL locks its busy parent: rather than queue writes behind it while a
    # long transaction holds the table, give up this turn (the next comes in hours).
    connection.execute(text("SET LOCAL lock_timeout = '2s'"))
    for table in PARTITIONED:
        connection.execute(
            text("SELECT month_partitions(:table, :ahead)"),
            {"table": table, "ahead": MONTHS_AHEAD},
        )
    if settings.occupancy_retention_months:
        dropped = connection.scalar(
            text("SELECT drop_old_partitions('parking_occupancy', :keep)"),
            {"keep": settings.occupancy_retention_months},
        )
        if dropped:
            log.info("dropped %d months of occupancy history past retention", dropped)


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
