"""Errors of the consent ledger. They name purposes and states, never personal values."""

from __future__ import annotations

from confiance.errors import ConfianceError

__all__ = [
    "ConsentError",
    "ConsentNotGiven",
    "DuplicateTarget",
    "NotDecidable",
    "ReceiptNotFound",
    "StateNotAllowed",
]


class ConsentError(ConfianceError):
    code = "consent"
    status = 422
    title = "Consent error"


class NotDecidable(ConsentError):
    code = "not-decidable"
    title = "The customer cannot decide on this"

    def __init__(self, target: str, reason: str) -> None:
        super().__init__(f"No decision can be recorded for '{target}': {reason}.", target=target)


class StateNotAllowed(ConsentError):
    code = "state-not-allowed"
    title = "This state cannot be recorded here"

    def __init__(self, target: str, state: str, allowed: list[str]) -> None:
        super().__init__(
            f"'{state}' cannot be recorded for '{target}'; use one of: {', '.join(allowed)}.",
            target=target,
            state=state,
            allowed=allowed,
        )


class ConsentNotGiven(ConsentError):
    code = "consent-not-given"
    status = 409
    title = "Nothing to withdraw"

    def __init__(self, target: str) -> None:
        super().__init__(
            f"Consent to '{target}' is not given, so it cannot be withdrawn; record 'refused' "
            "to say no.",
            target=target,
        )


class DuplicateTarget(ConsentError):
    code = "duplicate-target"
    title = "One decision per purpose"

    def __init__(self, target: str) -> None:
        super().__init__(f"'{target}' appears twice in one change.", target=target)


class ReceiptNotFound(ConsentError):
    code = "receipt-not-found"
    status = 404
    title = "No such receipt"

    def __init__(self, receipt_id: str) -> None:
        super().__init__(f"No receipt {receipt_id}.", receipt_id=receipt_id)
