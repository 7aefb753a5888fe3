"""SQL for subscriptions, deliveries and the worker's passes over the outbox."""

from datetime import datetime
from typing import Any

from sqlalchemy import case, func, literal, null, select, text, update
from sqlalchemy.orm import Session

from app.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookSubscription


def get(
    session: Session, subscription_id: int, *, key_id: int | None
) -> WebhookSubscription | None:
    """The subscription, if `key_id` owns it (any owner when None: an admin)."""
    query = select(WebhookSubscription).where(WebhookSubscription.id == subscription_id)
    if key_id is not None:
        query = query.where(WebhookSubscription.key_id == key_id)
    return session.scalar(query)


def list_subscriptions(
    session: Session, *, key_id: int | None, after: int, limit: int
) -> list[WebhookSubscription]:
    query = select(WebhookSubscription).where(WebhookSubscription.id > after)
    if key_id is not None:
        query = query.where(WebhookSubscription.key_id == key_id)
    return list(session.scalars(query.order_by(WebhookSubscription.id).limit(limit)))


def count_for_key(session: Session, key_id: int) -> int:
    return session.scalar(select(func.count()).where(WebhookSubscription.key_id == key_id)) or 0


def get_delivery(
    session: Session, subscription_id: int, delivery_id: int
) -> WebhookDelivery | None:
    return session.scalar(
        select(WebhookDelivery).where(
            WebhookDelivery.id == delivery_id, WebhookDelivery.subscription_id == subscription_id
        )
    )


def list_deliveries(
    session: Session,
    subscription_id: int,
    *,
    status: DeliveryStatus | None,
    before: int | None,
    limit: int,
) -> list[WebhookDelivery]:
    """Newest first."""
    query = select(WebhookDelivery).where(WebhookDelivery.subscription_id == subscription_id)
    if status is not None:
        query = query.where(WebhookDelivery.status == status)
    if before is not None:
        query = query.where(WebhookDelivery.id < before)
    return list(session.scalars(query.order_by(WebhookDelivery.id.desc()).limit(limit)))


def make_due(session: Session, subscription_id: int, *, now: datetime) -> None:
    session.execute(
        update(WebhookDelivery)
        .where(
            WebhookDelivery.subscription_id == subscription_id,
            WebhookDelivery.status == DeliveryStatus.pending,
        )
        .values(next_attempt_at=now)
    )


# The outbox's oldest events, fanned out to one delivery per subscription that wants the
# event and whose key's scope holds its work (as Principal.covers rules: an admin key
# every work, a manager's its facility ids and division codes), within the
# subscription's own division if it names one. Events about no work go to every
# subscriber to them. SKIP LOCKED: processes fanning out at once take disjoint events.
DISPATCH = """
WITH taken AS (
    DELETE FROM webhook_outbox
    WHERE id IN (
        SELECT id FROM webhook_outbox ORDER BY id LIMIT :batch FOR UPDATE SKIP LOCKED
    )
    RETURNING id, event_id, event_type, facility_id, data, created_at
), made AS (
    INSERT INTO webhook_delivery (subscription_id, event_id, event_type, body, next_attempt_at)
    SELECT s.id, t.event_id, t.event_type,
        json_build_object(
            'type', t.event_type,
            'timestamp', to_char(t.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
            'data', t.data
        )::text,
        :now
    FROM taken t
    JOIN webhook_subscription s ON t.event_type = ANY(s.events)
    JOIN api_key k ON k.id = s.key_id AND k.revoked_at IS NULL
    LEFT JOIN facility f ON f.id = t.facility_id
    WHERE t.facility_id IS NULL OR (
        f.id IS NOT NULL
        AND (k.role = 'admin' OR f.id = ANY(k.facility_ids)
            OR f.province_code = ANY(k.admin_codes) OR f.city_code = ANY(k.admin_codes)
            OR f.district_code = ANY(k.admin_codes))
        AND (s.admin_code IS NULL
            OR s.admin_code IN (f.province_code, f.city_code, f.district_code))
    )
    ORDER BY t.id, s.id  -- deliveries numbered in the order of their events
    RETURNING 1
)
SELECT (SELECT count(*) FROM taken) AS events, (SELECT count(*) FROM made) AS deliveries
"""


def dispatch(session: Session, *, now: datetime, batch: int) -> tuple[int, int]:
    """(events taken from the outbox, deliveries made of them)."""
    row = session.execute(text(DISPATCH), {"now": now, "batch": batch}).one()
    return row.events, row.deliveries


# Due deliveries of subscriptions not paused, claimed by pushing their next attempt a
# lease ahead: another process skips the locked rows now and finds them not due after
# the commit; a process that dies mid-attempt leaves them to be tried when the lease ends.
CLAIM = """
WITH claimed AS (
    UPDATE webhook_delivery d
    SET attempts = d.attempts + 1, last_attempt_at = :now,
        next_attempt_at = :now + make_interval(secs => :lease_s)
    FROM webhook_subscription s
    WHERE s.id = d.subscription_id AND d.id IN (
        SELECT d2.id FROM webhook_delivery d2
        JOIN webhook_subscription s2 ON s2.id = d2.subscription_id AND s2.paused_at IS NULL
        JOIN api_key k ON k.id = s2.key_id AND k.revoked_at IS NULL
        WHERE d2.status = 'pending' AND d2.next_attempt_at <= :now
        ORDER BY d2.next_attempt_at, d2.id
        LIMIT :batch
        FOR UPDATE OF d2 SKIP LOCKED
    )
    RETURNING d.id, d.event_id, d.body, d.created_at, d.attempts, d.subscription_id,
        s.url, s.secret
)
SELECT * FROM claimed ORDER BY id
"""


def claim(session: Session, *, now: datetime, batch: int, lease_s: float) -> list[Any]:
    params = {"now": now, "batch": batch, "lease_s": lease_s}
    return list(session.execute(text(CLAIM), params))


def delivered(
    session: Session,
    delivery_id: int,
    subscription_id: int,
    *,
    now: datetime,
    status: int,
    excerpt: str | None,
) -> None:
    session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.id == delivery_id)
        .values(
            status=DeliveryStatus.delivered,
            delivered_at=now,
            response_status=status,
            response_excerpt=excerpt,
            error=None,
        )
    )
    session.execute(
        update(WebhookSubscription)
        .where(WebhookSubscription.id == subscription_id)
        .values(consecutive_failures=0)
    )


def attempt_failed(
    session: Session,
    delivery_id: int,
    subscription_id: int,
    *,
    now: datetime,
    retry_at: datetime | None,
    status: int | None,
    excerpt: str | None,
    error: str | None,
    pause_after: int,
) -> None:
    """`retry_at` None: given up. The subscription pauses at its `pause_after`th failure
    in a row."""
    given_up = retry_at is None
    session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.id == delivery_id)
        .values(
            status=DeliveryStatus.failed if given_up else DeliveryStatus.pending,
            next_attempt_at=now if given_up else retry_at,
            response_status=status,
            response_excerpt=excerpt,
            error=error,
        )
    )
    failures = WebhookSubscription.consecutive_failures + 1
    session.execute(
        update(WebhookSubscription)
        .where(WebhookSubscription.id == subscription_id)
        .values(
            consecutive_failures=failures,
            paused_at=func.coalesce(
                WebhookSubscription.paused_at,
                case((failures >= pause_after, literal(now)), else_=null()),
            ),
        )
    )


# Pending deliveries past the retry window that no attempt will end (their subscription
# paused, their key revoked), and old rows no one reads.
PRUNE = """
WITH given_up AS (
    UPDATE webhook_delivery SET status = 'failed',
        error = coalesce(error || '; ', '') || 'not delivered within the retry window'
    WHERE status = 'pending' AND created_at < :now - make_interval(secs => :retry_s)
        AND next_attempt_at <= :now
    RETURNING 1
), dropped AS (
    DELETE FROM webhook_delivery
    WHERE status <> 'pending' AND created_at < :now - make_interval(days => :retention_days)
    RETURNING 1
), forgotten AS (
    DELETE FROM webhook_episode WHERE created_at < :now - interval '7 days' RETURNING 1
)
SELECT (SELECT count(*) FROM given_up) AS given_up, (SELECT count(*) FROM dropped) AS dropped
"""


def prune(session: Session, *, now: datetime, retry_s: int, retention_days: int) -> tuple[int, int]:
    params = {"now": now, "retry_s": retry_s, "retention_days": retention_days}
    row = session.execute(text(PRUNE), params).one()
    return row.given_up, row.dropped
