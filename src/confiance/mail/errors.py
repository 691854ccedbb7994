"""Errors of the mail domain. None carries an address, a subject or a body."""

from __future__ import annotations

from confiance.errors import ConfigurationError, ValidationFailed

__all__ = ["InvalidMailAddress", "MailNotConfigured", "MailRejected"]


class InvalidMailAddress(ValidationFailed):
    """The address is not echoed: it is personal data, and error texts reach logs."""

    code = "invalid-mail-address"
    title = "Invalid e-mail address"

    def __init__(self) -> None:
        super().__init__(
            "The e-mail address is not valid: it needs a local part, '@' and a domain with a "
            "dot, without spaces, and a domain that can receive mail (not 'localhost' or a "
            "reserved name). Ask the person for it again."
        )


class MailRejected(ValidationFailed):
    """A message the emitting domain built wrongly (a programming error there)."""

    code = "mail-rejected"
    title = "Mail message rejected"

    def __init__(self, reason: str, *, kind: str | None = None) -> None:
        super().__init__(f"The mail message is not accepted: {reason}.", reason=reason, kind=kind)


class MailNotConfigured(ConfigurationError):
    code = "mail-not-configured"
    title = "No way to send mail is configured"

    def __init__(self) -> None:
        super().__init__(
            "No mail transport is configured, so mail stays in the outbox. Set "
            "CONFIANCE__MAIL__HOST (an SMTP server) or CONFIANCE__MAIL__DIRECTORY (a folder "
            "where each message is written as an .eml file)."
        )
