"""Pydantic models at the API boundary of webhook subscriptions."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "DeliveryPage",
    "DeliveryRead",
    "WebhookCreate",
    "WebhookCreated",
    "WebhookPage",
    "WebhookRead",
]


class WebhookCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(
        min_length=1,
        max_length=128,
        description="What the receiver is (e.g. crm).",
        examples=["crm"],
    )
    url: str = Field(
        max_length=2048,
        description="Where events are POSTed: http or https, no credentials in the URL.",
        examples=["https://crm.example/hooks/confiance"],
    )
    event_types: list[str] = Field(
        min_length=1,
        description="Event types to receive: consent.changed, customer.erased, or '*' for all.",
        examples=[["consent.changed", "customer.erased"]],
    )


class WebhookRead(BaseModel):
    id: str
    name: str
    url: str
    event_types: list[str]
    active: bool
    created_at: datetime
    created_by: str
    disabled_at: datetime | None
    previous_secret_until: datetime | None = Field(
        description="After a secret rotation, until when the previous secret signs as well."
    )


class WebhookCreated(WebhookRead):
    secret: str = Field(
        description=(
            "The signing secret (whsec_...), shown this once: Confiance stores it sealed and "
            "never returns it again."
        )
    )


class WebhookPage(BaseModel):
    items: list[WebhookRead]


class DeliveryRead(BaseModel):
    message_id: str = Field(description="The webhook-id header: the same on every attempt.")
    subscription_id: str
    event_type: str
    attempt: int
    at: datetime
    outcome: str = Field(description="delivered, retry, failed, unknown or superseded.")
    status_code: int | None = Field(description="The receiver's HTTP status, if it answered.")
    error: str | None = Field(
        description="timeout, connect, transport, secret or lease-expired when it did not."
    )
    duration_ms: int | None


class DeliveryPage(BaseModel):
    items: list[DeliveryRead]
