"""Subscriptions: a manager's within its key's scope, an admin's anywhere; a key sees
and changes only its own (an admin key every one)."""

from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from app.accounts.errors import Forbidden
from app.accounts.models import Role
from app.accounts.principal import Principal
from app.audit import service as audit
from app.core.errors import InvalidInput
from app.core.pagination import cursor_id, id_cursor, keyset_page
from app.db.session import insert
from app.divisions.service import known_level, parent_of_code
from app.webhooks import repository
from app.webhooks.delivery import TargetRefused, resolve
from app.webhooks.errors import DeliveryNotFound, StillPending, TooManyWebhooks, WebhookNotFound
from app.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookSubscription
from app.webhooks.schemas import WebhookCreate, WebhookUpdate

# Per key: enough for a division's offices, few enough that a leaked key floods no one.
MAX_PER_KEY = 50


def _owner(principal: Principal) -> int | None:
    """The key whose subscriptions this caller sees; None: every key's (an admin)."""
    return None if principal.role == Role.admin else principal.key_id


def _check_target(url: str, *, allow_private: bool) -> None:
    try:
        resolve(url, allow_private=allow_private)
    except TargetRefused as exc:
        raise InvalidInput.on("url", str(exc)) from None


def _check_division(session: Session, admin_code: str | None, principal: Principal) -> None:
    """A manager's subscription narrows its key's scope, never widens it."""
    if admin_code is None:
        return
    try:
        known_level(session, admin_code)
    except InvalidInput:
        raise InvalidInput.on("admin_code", f"{admin_code} is not a known division code") from None
    if principal.role == Role.admin:
        return
    code: str | None = admin_code
    while code is not None:
        if code in principal.admin_codes:
            return
        code = parent_of_code(code)
    raise Forbidden(f"admin_code: {admin_code} lies outside this key's scope")


def _snapshot(subscription: WebhookSubscription) -> dict[str, Any]:
    # Never the secret: the audit trail is read by more people than the subscription.
    return {
        "url": subscription.url,
        "events": list(subscription.events),
        "admin_code": subscription.admin_code,
        "description": subscription.description,
    }


def create(
    session: Session, data: WebhookCreate, *, principal: Principal, allow_private: bool
) -> WebhookSubscription:
    assert principal.key_id is not None  # StaffWriter: a key
    _check_division(session, data.admin_code, principal)
    _check_target(data.url, allow_private=allow_private)
    if repository.count_for_key(session, principal.key_id) >= MAX_PER_KEY:
        raise TooManyWebhooks(f"this key has {MAX_PER_KEY} webhooks already; delete one first")
    subscription = insert(
        session,
        WebhookSubscription(
            key_id=principal.key_id,
            url=data.url,
            events=[str(e) for e in data.events],
            admin_code=data.admin_code,
            description=data.description,
            secret=data.secret,
        ),
    )
    _audit(session, principal, "create", subscription, before=None)
    return subscription


def get(session: Session, subscription_id: int, *, principal: Principal) -> WebhookSubscription:
    """Another key's subscription is answered as missing: its id tells nothing."""
    found = repository.get(session, subscription_id, key_id=_owner(principal))
    if found is None:
        raise WebhookNotFound(subscription_id)
    return found


def list_subscriptions(
    session: Session, *, principal: Principal, cursor: str | None, limit: int
) -> tuple[list[WebhookSubscription], str | None]:
    after = cursor_id(cursor) or 0
    rows = repository.list_subscriptions(
        session, key_id=_owner(principal), after=after, limit=limit + 1
    )
    return keyset_page(rows, limit, id_cursor)


def update(
    session: Session,
    subscription_id: int,
    data: WebhookUpdate,
    *,
    principal: Principal,
    allow_private: bool,
) -> WebhookSubscription:
    subscription = get(session, subscription_id, principal=principal)
    sent = data.model_fields_set
    for field in ("url", "events", "secret"):
        if field in sent and getattr(data, field) is None:
            raise InvalidInput.on(field, "cannot be cleared")
    before = _snapshot(subscription)
    if "admin_code" in sent:
        _check_division(session, data.admin_code, principal)
        subscription.admin_code = data.admin_code
    if data.url is not None:
        _check_target(data.url, allow_private=allow_private)
        subscription.url = data.url
    if data.events is not None:
        subscription.events = [str(e) for e in data.events]
    if data.secret is not None:
        subscription.secret = data.secret
    if "description" in sent:
        subscription.description = data.description
    subscription.updated_at = datetime.now(UTC)
    session.flush()
    _audit(session, principal, "update", subscription, before=before)
    return subscription


def delete(session: Session, subscription_id: int, *, principal: Principal) -> None:
    subscription = get(session, subscription_id, principal=principal)
    before = _snapshot(subscription)
    session.delete(subscription)
    session.flush()
    audit.record_write(
        session,
        principal.actor,
        "delete",
        "webhook_subscription",
        subscription_id,
        None,
        before=before,
        after=None,
    )


def resume(session: Session, subscription_id: int, *, principal: Principal) -> WebhookSubscription:
    """Unpauses; the deliveries still pending are attempted at once."""
    subscription = get(session, subscription_id, principal=principal)
    now = datetime.now(UTC)
    was_paused = subscription.paused_at is not None
    subscription.paused_at, subscription.consecutive_failures = None, 0
    session.flush()
    repository.make_due(session, subscription.id, now=now)
    if was_paused:
        audit.record(
            session,
            actor=principal.actor,
            action="resume",
            entity="webhook_subscription",
            entity_id=str(subscription.id),
            changes={"paused": {"old": True, "new": False}},
        )
    return subscription


def list_deliveries(
    session: Session,
    subscription_id: int,
    *,
    principal: Principal,
    status: DeliveryStatus | None,
    cursor: str | None,
    limit: int,
) -> tuple[list[WebhookDelivery], str | None]:
    get(session, subscription_id, principal=principal)
    before = cursor_id(cursor)
    rows = repository.list_deliveries(
        session, subscription_id, status=status, before=before, limit=limit + 1
    )
    return keyset_page(rows, limit, id_cursor)


def get_delivery(
    session: Session, subscription_id: int, delivery_id: int, *, principal: Principal
) -> WebhookDelivery:
    get(session, subscription_id, principal=principal)
    found = repository.get_delivery(session, subscription_id, delivery_id)
    if found is None:
        raise DeliveryNotFound(subscription_id, delivery_id)
    return found


def replay(
    session: Session, subscription_id: int, delivery_id: int, *, principal: Principal
) -> WebhookDelivery:
    """The same message (id, body) once more, as a new delivery due now, whatever became of
    the first: a receiver that lost or mishandled it asks again."""
    original = get_delivery(session, subscription_id, delivery_id, principal=principal)
    if original.status == DeliveryStatus.pending:
        raise StillPending(f"delivery {delivery_id} is still pending; it is attempted already")
    return insert(
        session,
        WebhookDelivery(
            subscription_id=subscription_id,
            event_id=original.event_id,
            event_type=original.event_type,
            body=original.body,
            replay_of=original.id,
        ),
    )


def _audit(
    session: Session,
    principal: Principal,
    action: str,
    subscription: WebhookSubscription,
    *,
    before: dict[str, Any] | None,
) -> None:
    audit.record_write(
        session,
        principal.actor,
        action,
        "webhook_subscription",
        subscription.id,
        None,
        before=before,
        after=_snapshot(subscription),
    )
