"""Errors of the rights domain. None of them carries an address, a code or a value."""

from __future__ import annotations

from confiance.errors import ConfianceError

__all__ = [
    "CodeRejected",
    "InvalidRequestDetails",
    "KindNotAvailable",
    "NoContactField",
    "RequestNotFound",
    "RightsError",
    "TooManyCodes",
    "WrongStatus",
]


class RightsError(ConfianceError):
    code = "rights"
    status = 400


class RequestNotFound(RightsError):
    """Also raised for a wrong request token: a request the caller may not see does not exist."""

    code = "request-not-found"
    status = 404
    title = "No such request"

    def __init__(self) -> None:
        super().__init__(
            "No request matches this reference and token; check the reference in the "
            "confirmation e-mail."
        )


class KindNotAvailable(RightsError):
    code = "request-kind-not-available"
    status = 422
    title = "This right does not exist under this law"

    def __init__(self, kind: str, jurisdiction: str, available: list[str]) -> None:
        super().__init__(
            f"'{kind}' is not a request under {jurisdiction.upper()}; use one of: "
            + ", ".join(available)
            + ".",
            kind=kind,
            jurisdiction=jurisdiction,
            available=available,
        )


class InvalidRequestDetails(RightsError):
    code = "invalid-request-details"
    status = 422
    title = "The request's details are not valid"

    def __init__(self, problem: str, **fields: object) -> None:
        super().__init__(problem, **fields)


class NoContactField(RightsError):
    code = "no-contact-field"
    status = 500
    title = "The manifest declares no e-mail look-up field"

    def __init__(self) -> None:
        super().__init__(
            "Rights requests are verified by e-mail: declare a field of type 'email' with "
            "'lookup: true' in the manifest."
        )


class TooManyCodes(RightsError):
    code = "too-many-codes"
    status = 429
    title = "Too many codes were asked for"

    def __init__(self, retry_after_seconds: int) -> None:
        super().__init__(
            "Several codes were sent to this address within the hour; use the last one received "
            f"or try again in {max(1, retry_after_seconds // 60)} minutes.",
            retry_after_seconds=retry_after_seconds,
        )


class CodeRejected(RightsError):
    """One error for a wrong, expired or already used code: which one is not said."""

    code = "code-rejected"
    status = 400
    title = "This code is not valid"

    def __init__(self, attempts_left: int) -> None:
        hint = (
            f"{attempts_left} attempts left with this code"
            if attempts_left
            else "ask for a new code"
        )
        super().__init__(
            f"The code is wrong, expired or already used; {hint}.", attempts_left=attempts_left
        )


class WrongStatus(RightsError):
    code = "wrong-request-status"
    status = 409
    title = "Not possible at this step of the request"

    def __init__(self, action: str, status: str, allowed: list[str]) -> None:
        super().__init__(
            f"Cannot {action} a request that is {status.replace('_', ' ')}; possible when: "
            + ", ".join(allowed)
            + ".",
            action=action,
            request_status=status,
            allowed=allowed,
        )
