"""Errors of the vault. None of them ever carries a value, only field and purpose names."""

from __future__ import annotations

from typing import ClassVar

from confiance.errors import ConfianceError

__all__ = [
    "ConsentRequired",
    "CustomerNotFound",
    "FieldNotNeeded",
    "NotAContractPurpose",
    "NothingToCollect",
    "ProcessingRefused",
    "ProcessingRestricted",
    "PurposeNotGranted",
    "VaultError",
]


class VaultError(ConfianceError):
    code = "vault"
    status = 400
    title = "Vault error"
    #: A refused access to personal data: recorded in the audit log in a transaction of its
    #: own (the refused one rolls back), so that probing leaves a trace.
    refused_access: ClassVar[bool] = False


class CustomerNotFound(VaultError):
    code = "customer-not-found"
    status = 404
    title = "No such customer"
    refused_access = True

    def __init__(self, customer_id: str, *, purpose: str | None = None) -> None:
        super().__init__(
            f"No customer with id {customer_id}.", customer_id=customer_id, purpose=purpose
        )


class FieldNotNeeded(VaultError):
    code = "field-not-needed"
    status = 422
    title = "Field not needed by the purpose"

    def __init__(self, field: str, purposes: list[str]) -> None:
        super().__init__(
            f"The field '{field}' is not needed by the purpose(s) {', '.join(purposes)}; "
            "collect it for a purpose that needs it, or declare that need in the manifest.",
            field=field,
            purposes=purposes,
        )


class PurposeNotGranted(VaultError):
    code = "purpose-not-granted"
    status = 403
    title = "Purpose not granted to this caller"
    refused_access = True

    def __init__(self, purpose: str, actor: str, *, customer_id: str | None = None) -> None:
        super().__init__(
            f"'{actor}' may not process data for the purpose '{purpose}'; create an API key "
            "that includes it.",
            purpose=purpose,
            customer_id=customer_id,
        )


class ConsentRequired(VaultError):
    code = "consent-required"
    status = 403
    title = "The purpose needs the customer's consent"
    refused_access = True

    def __init__(self, purpose: str, *, customer_id: str | None = None) -> None:
        super().__init__(
            f"The purpose '{purpose}' rests on the customer's consent and no consent decision "
            "is recorded for it: its data is not processed.",
            purpose=purpose,
            customer_id=customer_id,
        )


class ProcessingRefused(VaultError):
    code = "processing-refused"
    status = 403
    title = "The customer objected to or opted out of this processing"
    refused_access = True

    def __init__(self, purpose: str, *, customer_id: str | None = None) -> None:
        super().__init__(
            f"The customer objected to the purpose '{purpose}' or opted out of it (sale or "
            "sharing, sensitive data): its data is not processed.",
            purpose=purpose,
            customer_id=customer_id,
        )


class NothingToCollect(VaultError):
    code = "nothing-to-collect"
    status = 422
    title = "No field given"

    def __init__(self) -> None:
        super().__init__("Give at least one field value to collect.")


class ProcessingRestricted(VaultError):
    code = "processing-restricted"
    status = 403
    title = "Processing of this customer's data is restricted"
    refused_access = True

    def __init__(self, purpose: str, *, customer_id: str | None = None) -> None:
        super().__init__(
            f"The customer asked for their data to be restricted (GDPR art. 18): it is only "
            f"stored, and '{purpose}' may not use it until the restriction is lifted.",
            purpose=purpose,
            customer_id=customer_id,
        )


class NotAContractPurpose(VaultError):
    code = "not-a-contract-purpose"
    status = 422
    title = "This purpose does not rest on a contract"

    def __init__(self, purpose: str) -> None:
        super().__init__(
            f"'{purpose}' does not rest on a contract, so it has no end of contract; name a "
            "purpose whose legal basis is 'contract' (e.g. order_fulfilment).",
            purpose=purpose,
        )
