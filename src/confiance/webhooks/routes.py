"""HTTP adapter of webhook subscriptions: parse, authenticate, call one verb, shape the answer."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Path, Query, status

from confiance.web.deps import ApiCaller, Rt
from confiance.webhooks import service
from confiance.webhooks.schemas import (
    DeliveryPage,
    DeliveryRead,
    WebhookCreate,
    WebhookCreated,
    WebhookPage,
    WebhookRead,
)

__all__ = ["router"]

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"])

#: Managing subscriptions and reading the delivery log need this API key scope.
SCOPE = "webhooks"

SubscriptionId = Annotated[str, Path(max_length=16, description="The subscription's id.")]


@router.post("", status_code=status.HTTP_201_CREATED, response_model=WebhookCreated)
def create_webhook(body: WebhookCreate, runtime: Rt, caller: ApiCaller) -> WebhookCreated:
    """Subscribe a receiver to event types; the signing secret is in this answer only."""
    caller.require(SCOPE)
    with runtime.unit(caller) as session:
        info, secret = service.create_subscription(
            session,
            name=body.name,
            url=body.url,
            event_types=body.event_types,
            actor=caller,
            audit=runtime.audit,
            keys=runtime.keys,
        )
    return WebhookCreated(**asdict(info), secret=secret)


@router.get("", response_model=WebhookPage)
def list_webhooks(runtime: Rt, caller: ApiCaller) -> WebhookPage:
    """Every subscription, disabled ones included (never a secret)."""
    caller.require(SCOPE)
    with runtime.db.read() as session:
        infos = service.list_subscriptions(session)
    return WebhookPage(items=[WebhookRead(**asdict(i)) for i in infos])


@router.delete("/{subscription_id}", response_model=WebhookRead)
def disable_webhook(subscription_id: SubscriptionId, runtime: Rt, caller: ApiCaller) -> WebhookRead:
    """Stop deliveries to a receiver; its pending messages are dropped. The delivery log stays."""
    caller.require(SCOPE)
    with runtime.unit(caller) as session:
        info = service.disable_subscription(
            session, subscription_id=subscription_id, actor=caller, audit=runtime.audit
        )
    return WebhookRead(**asdict(info))


@router.get("/{subscription_id}/deliveries", response_model=DeliveryPage)
def list_deliveries(
    subscription_id: SubscriptionId,
    runtime: Rt,
    caller: ApiCaller,
    limit: Annotated[
        int, Query(ge=1, le=1000, description="How many attempts, newest first.")
    ] = 100,
) -> DeliveryPage:
    """The latest delivery attempts to a receiver: status, error kind, duration; never bodies."""
    caller.require(SCOPE)
    with runtime.db.read() as session:
        records = service.delivery_log(session, subscription_id=subscription_id, limit=limit)
    return DeliveryPage(items=[DeliveryRead(**asdict(r)) for r in records])


@router.post("/{subscription_id}/rotate-secret", response_model=WebhookCreated)
def rotate_webhook_secret(
    subscription_id: SubscriptionId, runtime: Rt, caller: ApiCaller
) -> WebhookCreated:
    """A new signing secret, in this answer only; the previous one signs too for 24 hours."""
    caller.require(SCOPE)
    with runtime.unit(caller) as session:
        info, secret = service.rotate_secret(
            session,
            subscription_id=subscription_id,
            actor=caller,
            audit=runtime.audit,
            keys=runtime.keys,
        )
    return WebhookCreated(**asdict(info), secret=secret)
