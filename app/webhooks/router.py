from typing import Annotated

from fastapi import Path, Query, Request, Response, status

from app.accounts.dependencies import StaffWriter, role_router
from app.core.errors import problem_responses
from app.db.session import SessionDep
from app.webhooks import service
from app.webhooks.models import DeliveryStatus
from app.webhooks.schemas import (
    DeliveryDetail,
    DeliveryPage,
    DeliveryRead,
    WebhookCreate,
    WebhookPage,
    WebhookRead,
    WebhookUpdate,
)

router = role_router("/v1/webhooks", tag="webhooks")
WebhookId = Annotated[int, Path(ge=1, le=2**63 - 1)]
DeliveryId = Annotated[int, Path(ge=1, le=2**63 - 1)]
Limit = Annotated[int, Query(ge=1, le=500)]
Cursor = Annotated[str | None, Query(max_length=300)]


def _allow_private(request: Request) -> bool:
    return request.app.state.settings.webhook_allow_private


@router.post(
    "",
    response_model=WebhookRead,
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(400, 409, 413),
)
def create_webhook(
    session: SessionDep, request: Request, principal: StaffWriter, data: WebhookCreate
) -> WebhookRead:
    """Subscribes a URL to events about the works in the key's scope (or in one division
    of it): signed POSTs, retried for a day (docs/api.md, Webhooks). The secret is never
    shown again."""
    subscription = service.create(
        session, data, principal=principal, allow_private=_allow_private(request)
    )
    return WebhookRead.model_validate(subscription)


@router.get("", response_model=WebhookPage, responses=problem_responses(400))
def list_webhooks(
    session: SessionDep, principal: StaffWriter, limit: Limit = 100, cursor: Cursor = None
) -> WebhookPage:
    """The key's own subscriptions (an admin's: every key's)."""
    return WebhookPage.of(
        service.list_subscriptions(session, principal=principal, cursor=cursor, limit=limit)
    )


@router.get(
    "/{webhook_id}",
    response_model=WebhookRead,
    responses=problem_responses(404),
)
def get_webhook(session: SessionDep, principal: StaffWriter, webhook_id: WebhookId) -> WebhookRead:
    return WebhookRead.model_validate(service.get(session, webhook_id, principal=principal))


@router.patch(
    "/{webhook_id}",
    response_model=WebhookRead,
    responses=problem_responses(400, 404, 413),
)
def update_webhook(
    session: SessionDep,
    request: Request,
    principal: StaffWriter,
    webhook_id: WebhookId,
    data: WebhookUpdate,
) -> WebhookRead:
    subscription = service.update(
        session, webhook_id, data, principal=principal, allow_private=_allow_private(request)
    )
    return WebhookRead.model_validate(subscription)


@router.delete(
    "/{webhook_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(404),
)
def delete_webhook(session: SessionDep, principal: StaffWriter, webhook_id: WebhookId) -> Response:
    """Ends the subscription; its pending deliveries and log go with it."""
    service.delete(session, webhook_id, principal=principal)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/{webhook_id}/resume",
    response_model=WebhookRead,
    responses=problem_responses(404),
)
def resume_webhook(
    session: SessionDep, principal: StaffWriter, webhook_id: WebhookId
) -> WebhookRead:
    """Unpauses a subscription that failed too often in a row; its pending deliveries are
    attempted at once."""
    return WebhookRead.model_validate(service.resume(session, webhook_id, principal=principal))


@router.get(
    "/{webhook_id}/deliveries",
    response_model=DeliveryPage,
    responses=problem_responses(400, 404),
)
def list_deliveries(
    session: SessionDep,
    principal: StaffWriter,
    webhook_id: WebhookId,
    delivery_status: Annotated[DeliveryStatus | None, Query(alias="status")] = None,
    limit: Limit = 100,
    cursor: Cursor = None,
) -> DeliveryPage:
    """The delivery log, newest first: each delivery's status, attempts and last answer
    (its status code and the first kilobyte of its body)."""
    return DeliveryPage.of(
        service.list_deliveries(
            session,
            webhook_id,
            principal=principal,
            status=delivery_status,
            cursor=cursor,
            limit=limit,
        )
    )


@router.get(
    "/{webhook_id}/deliveries/{delivery_id}",
    response_model=DeliveryDetail,
    responses=problem_responses(404),
)
def get_delivery(
    session: SessionDep, principal: StaffWriter, webhook_id: WebhookId, delivery_id: DeliveryId
) -> DeliveryDetail:
    """One delivery with the body it sends."""
    found = service.get_delivery(session, webhook_id, delivery_id, principal=principal)
    return DeliveryDetail.model_validate(found)


@router.post(
    "/{webhook_id}/deliveries/{delivery_id}/replay",
    response_model=DeliveryRead,
    status_code=status.HTTP_202_ACCEPTED,
    responses=problem_responses(404, 409),
)
def replay_delivery(
    session: SessionDep, principal: StaffWriter, webhook_id: WebhookId, delivery_id: DeliveryId
) -> DeliveryRead:
    """Sends a delivered or failed message again: a new delivery of the same message id
    and body, due at once."""
    found = service.replay(session, webhook_id, delivery_id, principal=principal)
    return DeliveryRead.model_validate(found)
