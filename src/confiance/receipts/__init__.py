"""Consent receipts: Kantara v1.1 records of consent changes, signed as compact JWS (Ed25519).

See docs/receipts.md for what a receipt contains and how anyone can verify one.
"""

from confiance.receipts.errors import ReceiptError, ReceiptInvalid
from confiance.receipts.schemas import (
    KANTARA_VERSION,
    RECEIPT_TYP,
    ChangeKind,
    ConsentReceipt,
    DpvState,
    Language,
    ReceiptChange,
)
from confiance.receipts.service import ReceiptKey, build_receipt, sign, verify

__all__ = [
    "KANTARA_VERSION",
    "RECEIPT_TYP",
    "ChangeKind",
    "ConsentReceipt",
    "DpvState",
    "Language",
    "ReceiptChange",
    "ReceiptError",
    "ReceiptInvalid",
    "ReceiptKey",
    "build_receipt",
    "sign",
    "verify",
]
