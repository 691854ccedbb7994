"""Errors of service API keys."""

from __future__ import annotations

from confiance.errors import NotFound, Unauthenticated, ValidationFailed

__all__ = ["ApiKeyNotFound", "InvalidApiKey", "NoPurposeGiven", "UnknownScope"]


class InvalidApiKey(Unauthenticated):
    code = "invalid-api-key"
    title = "Invalid API key"

    def __init__(self) -> None:
        super().__init__(
            "Send a valid, unrevoked API key as 'Authorization: Bearer <key>'; create one with "
            "'confiance apikey create'."
        )


class ApiKeyNotFound(NotFound):
    code = "api-key-not-found"

    def __init__(self, key_id: str) -> None:
        super().__init__(f"No API key with id {key_id}.", key_id=key_id)


class NoPurposeGiven(ValidationFailed):
    code = "no-purpose-given"

    def __init__(self) -> None:
        super().__init__("An API key must be limited to at least one declared purpose.")


class UnknownScope(ValidationFailed):
    code = "unknown-scope"

    def __init__(self, scope: str) -> None:
        from confiance.actors import SCOPES

        super().__init__(
            f"'{scope}' is not a scope; use some of: {', '.join(sorted(SCOPES))}.", scope=scope
        )
