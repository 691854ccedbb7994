"""Consent receipts: a signed record of each consent change, which the customer keeps.

A receipt is a Kantara Consent Receipt v1.1 (``KI-CR-v1.1.0``) built from the manifest version
in force, signed as a compact JWS with the installation's receipt key (Ed25519, derived from
the audit signing key: see :func:`confiance.crypto.receipt_signing_seed`). Anyone with the
published public key can verify it, with Confiance or with any JOSE library.

The functions here are pure: they read a manifest and return a document. Recording the change
(the consent ledger, the audit entry) is the caller's verb; a receipt describes what that verb
did, it does not do it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from confiance.crypto import (
    Keyring,
    Secret,
    SignatureInvalid,
    Signer,
    jwk_thumbprint,
    public_jwk,
    receipt_signing_seed,
    sign_jws,
    verify_jws,
)
from confiance.manifest.schemas import (
    Duration,
    LegalBasis,
    Manifest,
    PurposeSpec,
    Recipient,
    RecipientRole,
    Retention,
    RetentionAction,
    RetentionStart,
)
from confiance.receipts.errors import ReceiptInvalid
from confiance.receipts.schemas import (
    KANTARA_VERSION,
    RECEIPT_TYP,
    SCOPES,
    ConsentReceipt,
    Language,
    ReceiptChange,
)

__all__ = [
    "EXTENSION",
    "EXTENSION_VERSION",
    "ReceiptKey",
    "build_receipt",
    "check_shape",
    "sign",
    "verify",
]

# The member under which Confiance writes what Kantara v1.1 has no field for. The schema
# allows additional members everywhere; one namespaced member keeps them apart from any field
# a later Kantara version may add.
EXTENSION = "confiance"
EXTENSION_VERSION = 1

_SHA256_HEX = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class ReceiptKey:
    """The key pair that signs receipts, with the ``kid`` and JWK under which it is published."""

    seed: Secret
    public_key: bytes
    kid: str

    @classmethod
    def from_seed(cls, seed: Secret) -> ReceiptKey:
        public_key = Signer(seed).public_key
        return cls(seed=seed, public_key=public_key, kid=jwk_thumbprint(public_key))

    @classmethod
    def from_ring(cls, ring: Keyring) -> ReceiptKey:
        """The installation's receipt key, derived from (and rotating with) the audit key."""
        return cls.from_seed(receipt_signing_seed(ring))

    def jwk(self) -> dict[str, str]:
        """The public JWK to publish, e.g. in a JWK set at a well-known address."""
        return public_jwk(self.public_key, self.kid)


# -- building -------------------------------------------------------------------------------
def build_receipt(
    *,
    receipt_id: str,
    issued_at: datetime,
    manifest: Manifest,
    manifest_seq: int,
    manifest_sha256: str,
    subject: str,
    language: Language,
    collection_method: str,
    channel: str,
    changes: Sequence[ReceiptChange],
    policy_url: str | None = None,
) -> dict[str, Any]:
    """The Kantara v1.1 receipt of ``changes``, made under manifest version ``manifest_seq``.

    ``subject`` is the customer's pseudonymous id: a receipt travels, so it never carries an
    e-mail address or a name. Only the purposes that changed are listed, each once, with every
    decision about it; a decision on a scope (``@sale_sharing``, ``@sensitive``) is listed on
    each purpose it covers. ``policy_url`` defaults to a URN naming the manifest version and
    hash, which identify the exact notice the customer was shown.
    """
    if issued_at.tzinfo is None or issued_at.utcoffset() is None:
        raise ValueError("issued_at must be timezone-aware")
    if not subject or "@" in subject:
        raise ValueError("subject must be the customer's pseudonymous id, not an e-mail address")
    for name, value in (
        ("receipt_id", receipt_id),
        ("collection_method", collection_method),
        ("channel", channel),
    ):
        if not value.strip():
            raise ValueError(f"{name} must not be empty")
    if manifest_seq < 1:
        raise ValueError("manifest_seq starts at 1")
    if not _SHA256_HEX.fullmatch(manifest_sha256):
        raise ValueError("manifest_sha256 must be 64 lower-case hexadecimal digits")
    decisions = _decisions(manifest, changes)

    purposes = [manifest.purpose(key) for key in decisions]
    controller = manifest.controller
    sensitive_categories = _unique(
        spec.category
        for purpose in purposes
        for name in purpose.fields
        if (spec := manifest.field(name)).sensitive
    )
    when = issued_at.astimezone(UTC)
    return {
        "version": KANTARA_VERSION,
        "jurisdiction": controller.country,
        "consentTimestamp": int(when.timestamp()),
        "collectionMethod": collection_method,
        "consentReceiptID": receipt_id,
        "language": language,
        "piiPrincipalId": subject,
        "piiControllers": [
            {
                "piiController": controller.name,
                "contact": controller.dpo.name,
                "address": {
                    "streetAddress": controller.address,
                    "addressCountry": controller.country,
                },
                "email": controller.dpo.email,
                # Required by Kantara; the manifest records no telephone number for the
                # controller, and an empty string says so rather than inventing one.
                "phone": "",
            }
        ],
        "policyUrl": policy_url or f"urn:confiance:manifest:{manifest_seq}:{manifest_sha256}",
        "services": [
            {
                "service": controller.name,
                "purposes": [
                    _purpose(manifest, purpose, decisions[purpose.key], language)
                    for purpose in purposes
                ],
            }
        ],
        "sensitive": bool(sensitive_categories),
        "spiCat": sensitive_categories,
        EXTENSION: {
            "version": EXTENSION_VERSION,
            "issuedAt": when.isoformat().replace("+00:00", "Z"),
            "channel": channel,
            "manifest": {"seq": manifest_seq, "sha256": manifest_sha256},
            "changes": [
                {"target": c.purpose_key, "kind": c.kind, "state": c.state} for c in changes
            ],
        },
    }


def _decisions(
    manifest: Manifest, changes: Sequence[ReceiptChange]
) -> dict[str, list[dict[str, str]]]:
    """The decisions per purpose, purposes in the order they first appear, scopes expanded."""
    if not changes:
        raise ValueError("a receipt records at least one change")
    seen: set[tuple[str, str]] = set()
    grouped: dict[str, list[dict[str, str]]] = {}
    for change in changes:
        if (change.purpose_key, change.kind) in seen:
            raise ValueError(
                f"two '{change.kind}' changes for '{change.purpose_key}' in one receipt; "
                "record the final state once"
            )
        seen.add((change.purpose_key, change.kind))
        decision: dict[str, str] = {"kind": change.kind, "state": change.state}
        if change.purpose_key in SCOPES:
            decision["scope"] = change.purpose_key
        for key in _purposes_of(manifest, change.purpose_key):
            decisions = grouped.setdefault(key, [])
            if any(d["kind"] == change.kind for d in decisions):
                raise ValueError(
                    f"the purpose '{key}' gets two '{change.kind}' decisions, directly and "
                    "through a scope; record the final state once"
                )
            decisions.append(decision)
    return grouped


def _purposes_of(manifest: Manifest, target: str) -> list[str]:
    """The purposes a decision on ``target`` (a purpose key or a scope) applies to."""
    if target == "@sale_sharing":
        return [p.key for p in manifest.purposes if p.ccpa_sale_or_share]
    if target == "@sensitive":
        return [
            p.key
            for p in manifest.purposes
            if any(manifest.field(name).sensitive for name in p.fields)
        ]
    return [manifest.purpose(target).key]


def _unique(items: Any) -> list[str]:
    return list(dict.fromkeys(items))


def _purpose(
    manifest: Manifest,
    purpose: PurposeSpec,
    decisions: list[dict[str, str]],
    language: Language,
) -> dict[str, Any]:
    # Processors act on the controller's behalf and are not third parties (ISO/IEC 29100, which
    # Kantara follows, and GDPR art. 4(10)); every recipient is still listed in the extension.
    third_parties = [r.name for r in purpose.recipients if r.role is RecipientRole.THIRD_PARTY]
    entry: dict[str, Any] = {
        "purpose": (
            purpose.description.in_language(language) if purpose.description else purpose.key
        ),
        "purposeCategory": [purpose.data_use],
        "consentType": "EXPLICIT" if purpose.legal_basis is LegalBasis.CONSENT else "N/A",
        "piiCategory": _unique(manifest.field(name).category for name in purpose.fields),
        "primaryPurpose": purpose.data_use.split(".")[0] == "essential",
        "termination": _termination(purpose.retention, language),
        "thirdPartyDisclosure": bool(third_parties),
    }
    if third_parties:
        entry["thirdPartyName"] = "; ".join(third_parties)
    entry[EXTENSION] = {
        "purposeKey": purpose.key,
        "legalBasis": str(purpose.legal_basis),
        "decisions": decisions,
        "recipients": [_recipient(r) for r in purpose.recipients],
    }
    return entry


def _recipient(recipient: Recipient) -> dict[str, str]:
    out = {"name": recipient.name, "role": str(recipient.role), "country": recipient.country}
    if recipient.safeguard is not None:
        out["safeguard"] = str(recipient.safeguard)
    return out


# -- retention in words -----------------------------------------------------------------------
_FROM = {
    "en": {
        RetentionStart.COLLECTION: "after collection",
        RetentionStart.LAST_CONTACT: "after your last contact with us",
        RetentionStart.END_OF_CONTRACT: "after the end of the contract",
    },
    "fr": {
        RetentionStart.COLLECTION: "après leur collecte",
        RetentionStart.LAST_CONTACT: "après votre dernier contact avec nous",
        RetentionStart.END_OF_CONTRACT: "après la fin du contrat",
    },
}
_THEN = {
    "en": {RetentionAction.DELETE: "deleted", RetentionAction.ANONYMISE: "anonymised"},
    "fr": {RetentionAction.DELETE: "supprimées", RetentionAction.ANONYMISE: "anonymisées"},
}
_UNITS_FR = (("an", "ans"), ("mois", "mois"), ("semaine", "semaines"), ("jour", "jours"))


def _period(duration: Duration, language: Language) -> str:
    if language == "en":
        return duration.describe()
    counts = (duration.years, duration.months, duration.weeks, duration.days)
    parts = [
        f"{n} {one if n == 1 else many}"
        for n, (one, many) in zip(counts, _UNITS_FR, strict=True)
        if n
    ]
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " et " + parts[-1]


def _termination(retention: Retention | None, language: Language) -> str:
    """How long the purpose's data is kept, in the receipt's language."""
    if retention is None:
        if language == "en":
            return "No retention period is set."
        return "Aucune durée de conservation n'est fixée."
    period = _period(retention.period, language)
    start = _FROM[language][retention.counted_from]
    then = _THEN[language][retention.after]
    if language == "en":
        return f"Kept {period} {start}, then {then}."
    return f"Conservées {period} {start}, puis {then}."


# -- signing and verifying ------------------------------------------------------------------
def check_shape(receipt: dict[str, Any]) -> None:
    """Raise :class:`ReceiptInvalid` (``shape``) unless ``receipt`` is a Kantara v1.1 receipt.

    The problems name members, never their values: a receipt carries a customer's id.
    """
    try:
        ConsentReceipt.model_validate(receipt)
    except ValidationError as exc:
        problems = [".".join(str(part) for part in error["loc"]) for error in exc.errors()]
        raise ReceiptInvalid(reason="shape", problems=problems) from None


def sign(receipt: dict[str, Any], *, seed: Secret, kid: str) -> str:
    """The receipt as a compact JWS (``typ`` ``kantara-cr+jwt``), ready for the customer."""
    check_shape(receipt)
    return sign_jws(receipt, seed=seed, kid=kid, typ=RECEIPT_TYP)


def verify(token: str, *, public_key: bytes) -> dict[str, Any]:
    """The receipt a token carries, once its signature and its shape are checked.

    Raises :class:`ReceiptInvalid`: ``signature`` (wrapping the opaque
    :class:`~confiance.crypto.SignatureInvalid`) for a token altered, truncated, malformed,
    signed by another key or not typed as a receipt; ``shape`` for a signed document that is not
    a receipt.
    """
    try:
        receipt = verify_jws(token, public_key=public_key, typ=RECEIPT_TYP)
    except SignatureInvalid as exc:
        raise ReceiptInvalid(reason="signature") from exc
    check_shape(receipt)
    return receipt
