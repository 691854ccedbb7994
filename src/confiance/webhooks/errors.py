"""Errors of the webhooks domain. None carries a payload value or a secret."""

from __future__ import annotations

from confiance.errors import NotFound, ValidationFailed

__all__ = [
    "InvalidWebhookUrl",
    "NoEventType",
    "PayloadRejected",
    "SubscriptionNotFound",
    "UnknownEventType",
]


class SubscriptionNotFound(NotFound):
    code = "webhook-not-found"
    title = "No such webhook subscription"

    def __init__(self, subscription_id: str) -> None:
        super().__init__(
            f"No webhook subscription with id {subscription_id}.", subscription_id=subscription_id
        )


class InvalidWebhookUrl(ValidationFailed):
    """The URL itself is not echoed: it may carry a token in its path or query."""

    code = "invalid-webhook-url"
    title = "Invalid webhook URL"

    def __init__(self, reason: str) -> None:
        super().__init__(f"The webhook URL is not accepted: {reason}.", reason=reason)


class UnknownEventType(ValidationFailed):
    code = "unknown-event-type"
    title = "Unknown event type"

    def __init__(self, event_type: str, known: list[str]) -> None:
        super().__init__(
            f"'{event_type}' is not an event type; use one of {', '.join(known)} or '*'.",
            event_type=event_type,
            known=known,
        )


class NoEventType(ValidationFailed):
    code = "no-event-type"
    title = "No event type given"

    def __init__(self) -> None:
        super().__init__("A webhook subscription needs at least one event type (or '*').")


class PayloadRejected(ValidationFailed):
    """Raised to the emitting domain (a programming error there), never to an API caller."""

    code = "webhook-payload-rejected"
    title = "Webhook payload rejected"

    def __init__(self, reason: str, *, event_type: str) -> None:
        super().__init__(
            f"The payload of a '{event_type}' event is rejected: {reason}.",
            reason=reason,
            event_type=event_type,
        )
