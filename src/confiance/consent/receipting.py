"""Turns a consent change into a signed Kantara-shaped receipt."""

from __future__ import annotations

from typing import cast

from confiance.consent.rules import Kind
from confiance.consent.service import ChangeRecord, ReceiptIssuer
from confiance.crypto import KeyringSource
from confiance.receipts import ReceiptChange, ReceiptKey, build_receipt, sign
from confiance.receipts.schemas import ChangeKind, Language

__all__ = ["receipt_issuer"]

_KINDS: dict[Kind, ChangeKind] = {
    Kind.CONSENT: "consent",
    Kind.OBJECTION: "objection",
    Kind.OPT_OUT_SALE_SHARING: "opt_out_sale",
    Kind.LIMIT_SENSITIVE: "limit_sensitive",
}


def receipt_issuer(keys: KeyringSource) -> ReceiptIssuer:
    """An issuer signing with the receipt key derived from the installation's key ring."""

    cache: dict[int, ReceiptKey] = {}

    def key_for_ring() -> ReceiptKey:
        # Deriving the key (HKDF, then loading Ed25519) costs more than signing: once per ring.
        ring = keys.get()
        key = cache.get(id(ring))
        if key is None:
            cache.clear()
            key = cache[id(ring)] = ReceiptKey.from_ring(ring)
        return key

    def issue(record: ChangeRecord) -> str:
        key = key_for_ring()
        language = cast(
            Language, record.context.language if record.context.language in ("fr", "en") else "fr"
        )
        receipt = build_receipt(
            receipt_id=record.receipt_id,
            issued_at=record.at,
            manifest=record.seen.manifest,
            manifest_seq=record.seen.seq,
            manifest_sha256=record.seen.sha256,
            subject=str(record.customer_id),
            language=language,
            collection_method=record.context.method,
            channel=record.context.channel,
            changes=[
                ReceiptChange(
                    purpose_key=change.target,
                    state=change.state.value,
                    kind=_KINDS[kind],
                )
                for change, kind in zip(record.changes, record.kinds, strict=True)
            ],
        )
        return sign(receipt, seed=key.seed, kid=key.kid)

    return issue
