"""The delivery worker: runs in every API process; the rows decide who does what.

Each pass fans the outbox out to deliveries, then attempts the deliveries that are due;
every `webhook_sweep_s` it also runs the domains' sweeps for time-driven events (an
item falling overdue, a feed going stale), handed in by app.main so that this package
imports no domain, and prunes old rows. Rows are taken with FOR UPDATE SKIP LOCKED, so
two processes never attempt one delivery at once; a sweep runs in one process at a time
(an advisory lock) and sends each episode once (app/webhooks/outbox.py)."""

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from app.config import Settings
from app.webhooks import delivery, repository

log = logging.getLogger(__name__)

# A sweep: `(session, now=...)` -> how many events it enqueued.
Sweep = Callable[..., int]
BATCH = 20
# Receivers attempted side by side per process.
PARALLEL = 8
FIRST_RETRY_S = 30
# Backoff doubles from FIRST_RETRY_S up to this gap, for webhook_retry_s in all.
MAX_RETRY_GAP_S = 6 * 3600
SWEEP_LOCK = 0x7266_7768  # pg_try_advisory_xact_lock key of the sweeps ("rfwh")


def retry_at(
    *, attempts: int, created_at: datetime, now: datetime, window_s: int
) -> datetime | None:
    """When to try again after `attempts` failed attempts; None past the window."""
    gap = min(FIRST_RETRY_S * 2 ** (attempts - 1), MAX_RETRY_GAP_S)
    at = now + timedelta(seconds=gap)
    return None if at > created_at + timedelta(seconds=window_s) else at


def dispatch(sessions: sessionmaker[Session], *, now: datetime) -> int:
    """Fans the whole outbox out, a batch per transaction; the deliveries made."""
    made = 0
    while True:
        with sessions() as session:
            events, deliveries = repository.dispatch(session, now=now, batch=BATCH * 5)
            session.commit()
        made += deliveries
        if events < BATCH * 5:
            return made


def deliver_due(
    sessions: sessionmaker[Session],
    client: httpx.Client,
    settings: Settings,
    *,
    now: datetime | None = None,
) -> int:
    """Attempts one batch of due deliveries: each subscription's in order, PARALLEL
    subscriptions at a time, so that a receiver slow to answer holds up no other; records
    the answers in one transaction. How many were attempted. `now` is the clock's unless
    given (tests move it forward)."""
    with sessions() as session:
        # Each attempt may take the whole timeout: the lease outlasts the batch.
        lease_s = BATCH * settings.webhook_timeout_s * 2 + 60
        claimed = repository.claim(
            session, now=now or datetime.now(UTC), batch=BATCH, lease_s=lease_s
        )
        session.commit()
    if not claimed:
        return 0
    # One receiver's deliveries one after the other, in order; receivers side by side.
    by_receiver: dict[int, list[Any]] = {}
    for row in claimed:
        by_receiver.setdefault(row.subscription_id, []).append(row)

    def attempt_in_turn(rows: list[Any]) -> list[delivery.Answer]:
        return [_attempt(client, settings, row, now) for row in rows]

    with ThreadPoolExecutor(max_workers=PARALLEL, thread_name_prefix="webhook") as pool:
        answered = list(pool.map(attempt_in_turn, by_receiver.values()))
    rows = [row for group in by_receiver.values() for row in group]
    answers = [answer for group in answered for answer in group]
    done = now or datetime.now(UTC)
    with sessions() as session:
        for row, answer in zip(rows, answers, strict=True):
            if answer.ok:
                repository.delivered(
                    session,
                    row.id,
                    row.subscription_id,
                    now=done,
                    status=answer.status,
                    excerpt=answer.excerpt,
                )
                continue
            repository.attempt_failed(
                session,
                row.id,
                row.subscription_id,
                now=done,
                retry_at=retry_at(
                    attempts=row.attempts,
                    created_at=row.created_at,
                    now=done,
                    window_s=settings.webhook_retry_s,
                ),
                status=answer.status,
                excerpt=answer.excerpt,
                error=answer.error,
                pause_after=settings.webhook_pause_after,
            )
        session.commit()
    return len(claimed)


def _attempt(
    client: httpx.Client, settings: Settings, row: Any, now: datetime | None
) -> delivery.Answer:
    try:
        return delivery.post(
            client,
            url=row.url,
            secret=row.secret,
            message_id=str(row.event_id),
            timestamp=int((now or datetime.now(UTC)).timestamp()),
            body=row.body,
            allow_private=settings.webhook_allow_private,
        )
    except Exception as exc:  # noqa: BLE001 - one row must not stop the others
        log.exception("webhook delivery %s failed unexpectedly", row.id)
        return delivery.Answer(None, None, f"internal error: {type(exc).__name__}")


def sweep(
    sessions: sessionmaker[Session], settings: Settings, sweeps: Sequence[Sweep], *, now: datetime
) -> int:
    """The domains' sweeps and the pruning, in one transaction, by one process at a time."""
    with sessions() as session:
        if not session.scalar(text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": SWEEP_LOCK}):
            return 0
        enqueued = sum(run(session, now=now) for run in sweeps)
        repository.prune(
            session,
            now=now,
            retry_s=settings.webhook_retry_s,
            retention_days=settings.webhook_retention_days,
        )
        session.commit()
    return enqueued


def run_once(
    sessions: sessionmaker[Session],
    client: httpx.Client,
    settings: Settings,
    sweeps: Sequence[Sweep],
    *,
    swept: bool,
) -> None:
    now = datetime.now(UTC)
    if swept:
        sweep(sessions, settings, sweeps, now=now)
    dispatch(sessions, now=now)
    while deliver_due(sessions, client, settings) == BATCH:
        pass


async def worker(
    sessions: sessionmaker[Session], settings: Settings, sweeps: Sequence[Sweep]
) -> None:
    """For as long as the process serves; a failure (the database away) waits its turn."""
    last_sweep = float("-inf")
    with delivery.client(settings.webhook_timeout_s) as client:
        while True:
            due = time.monotonic() - last_sweep >= settings.webhook_sweep_s
            try:
                await run_in_threadpool(run_once, sessions, client, settings, sweeps, swept=due)
                if due:
                    last_sweep = time.monotonic()
            except Exception as exc:  # noqa: BLE001 - tried again at the next turn
                log.warning("webhook pass failed: %s", exc)
            await asyncio.sleep(settings.webhook_poll_s)
