"""What goes into a receipt, and what a signed document must look like to be read as one.

:class:`ReceiptChange` is the input: one decision of the customer about one purpose.
:class:`ConsentReceipt` and the models under it mirror the Kantara Consent Receipt v1.1 JSON
schema (``KI-CR-v1.1.0``), members and types, so that a verified token is read as a receipt
only if it has that shape. They allow extra members, as the Kantara schema does: Confiance
puts its own facts under a ``confiance`` member (see docs/receipts.md).
"""

from __future__ import annotations

from typing import Any, Literal, Self

from pydantic import AliasGenerator, BaseModel, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel

__all__ = [
    "KANTARA_VERSION",
    "RECEIPT_TYP",
    "SCOPES",
    "ChangeKind",
    "ConsentReceipt",
    "DpvState",
    "Language",
    "PiiController",
    "ReceiptChange",
    "ReceiptPurpose",
    "ReceiptService",
]

KANTARA_VERSION = "KI-CR-v1.1.0"

# The JWS "typ" of a signed receipt (RFC 8725, section 3.11, explicit typing): a verifier that
# checks it cannot be handed another kind of token signed by the same key.
RECEIPT_TYP = "kantara-cr+jwt"

Language = Literal["fr", "en"]

# Local names of the W3C DPV consent statuses (dpv:ConsentGiven, dpv:ConsentRefused, ...).
DpvState = Literal["given", "refused", "withdrawn", "expired", "revoked", "invalidated"]

# What the decision is about: consent to a purpose, an objection to a purpose based on
# legitimate interest (GDPR art. 21), the CCPA opt-out of sale or sharing, and the CCPA
# limit on the use of sensitive personal information.
ChangeKind = Literal["consent", "objection", "opt_out_sale", "limit_sensitive"]


# Targets that are not one purpose but a scope, as the consent domain names them: the CCPA
# choices apply to every purpose that sells or shares data, or that uses sensitive data.
SCOPES: dict[str, ChangeKind] = {"@sale_sharing": "opt_out_sale", "@sensitive": "limit_sensitive"}


class ReceiptChange(BaseModel):
    """One decision recorded by a receipt: ``state`` of the ``kind`` of choice on a target.

    The target is a purpose key, or one of the :data:`SCOPES`. The state always describes the
    processing, whatever the kind: ``given``, it may go on; ``refused`` (or ``withdrawn``), the
    customer said no, which for an objection or an opt-out means the objection or opt-out holds.
    """

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)

    purpose_key: str = Field(min_length=1)
    state: DpvState
    kind: ChangeKind = "consent"

    @model_validator(mode="after")
    def _scope_has_its_kind(self) -> Self:
        if self.purpose_key.startswith("@") and SCOPES.get(self.purpose_key) != self.kind:
            raise ValueError(
                "a target starting with '@' is a scope: '@sale_sharing' with kind "
                "'opt_out_sale', or '@sensitive' with kind 'limit_sensitive'"
            )
        return self


class _Kantara(BaseModel):
    model_config = ConfigDict(
        strict=True,
        extra="allow",
        frozen=True,
        alias_generator=AliasGenerator(validation_alias=to_camel),
    )


class PiiController(_Kantara):
    pii_controller: str
    contact: str
    address: dict[str, Any]
    email: str
    phone: str
    on_behalf: bool | None = None
    pii_controller_url: str | None = None


class ReceiptPurpose(_Kantara):
    purpose: str | None = None
    consent_type: str
    purpose_category: list[str]
    pii_category: list[str]
    primary_purpose: bool | None = None
    termination: str
    third_party_disclosure: bool
    third_party_name: str | None = None

    @model_validator(mode="after")
    def _third_party_named(self) -> Self:
        # The schema's oneOf: a disclosure to a third party must name it.
        if self.third_party_disclosure and self.third_party_name is None:
            raise ValueError("thirdPartyName is required when thirdPartyDisclosure is true")
        return self


class ReceiptService(_Kantara):
    service: str
    purposes: list[ReceiptPurpose]


class ConsentReceipt(_Kantara):
    version: Literal["KI-CR-v1.1.0"]
    jurisdiction: str
    consent_timestamp: int = Field(ge=0)
    collection_method: str
    consent_receipt_id: str = Field(validation_alias="consentReceiptID")
    public_key: str | None = None
    language: str | None = None
    pii_principal_id: str
    pii_controllers: list[PiiController]
    policy_url: str
    services: list[ReceiptService]
    sensitive: bool
    spi_cat: list[str]
