"""Errors of the privacy center."""

from __future__ import annotations

from confiance.errors import ConfianceError

__all__ = ["FeedbackInvalid", "NotSignedIn", "NothingHeld", "PortalError"]


class PortalError(ConfianceError):
    code = "portal"
    status = 400


class NotSignedIn(PortalError):
    code = "not-signed-in"
    status = 401
    title = "Please sign in"

    def __init__(self) -> None:
        super().__init__("Your session has ended; sign in again with a code sent by e-mail.")


class NothingHeld(PortalError):
    """Told only after the code proved the requester reads that mailbox."""

    code = "nothing-held"
    status = 404
    title = "We hold no data about this address"

    def __init__(self) -> None:
        super().__init__(
            "We hold no data associated with this address: there is nothing to show or manage."
        )


class FeedbackInvalid(PortalError):
    code = "feedback-invalid"
    status = 422
    title = "Please check the form"

    def __init__(self, problem: str, **fields: object) -> None:
        super().__init__(problem[:1].upper() + problem[1:] + ".", **fields)
