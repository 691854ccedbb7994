"""Errors of consent receipts.

::

    ConfianceError
    └── ReceiptError
        └── ReceiptInvalid      a receipt does not verify, or is not a receipt (422)
"""

from __future__ import annotations

from typing import ClassVar, Literal

from confiance.errors import ConfianceError

__all__ = ["InvalidReason", "ReceiptError", "ReceiptInvalid"]

InvalidReason = Literal["signature", "shape", "malformed"]


class ReceiptError(ConfianceError):
    code = "receipt"
    status = 500
    title = "Consent receipt failure"


class ReceiptInvalid(ReceiptError):
    """A receipt that cannot be trusted or read, with the reason as a stable field.

    ``reason`` is ``signature`` (altered, truncated, or signed by another key: the cause is
    deliberately not told apart), ``shape`` (signed, but not a Kantara v1.1 consent receipt) or
    ``malformed`` (the file holds no receipt token at all).
    """

    code = "receipt-invalid"
    status = 422
    title = "The consent receipt is not valid"

    _DETAILS: ClassVar[dict[str, str]] = {
        "signature": (
            "The receipt's signature does not verify with this public key: the receipt was "
            "altered, or another key signed it."
        ),
        "shape": "The signed document is not a Kantara v1.1 consent receipt.",
        "malformed": (
            "No receipt found: expected a compact JWS, or a JSON object with a 'jws' member."
        ),
    }

    def __init__(self, *, reason: InvalidReason, problems: list[str] | None = None) -> None:
        fields: dict[str, object] = {"reason": reason}
        if problems:
            fields["problems"] = problems
        super().__init__(self._DETAILS[reason], **fields)
        self.reason: InvalidReason = reason
