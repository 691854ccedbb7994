"""Pydantic models at the API boundary of the consent ledger."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = [
    "ConsentChangeRequest",
    "ConsentChangeResult",
    "ConsentEventRead",
    "ConsentOverview",
    "DailyCountRead",
    "DecisionRead",
    "PurposeDecision",
    "ReceiptListItem",
    "TcfImportRequest",
]

Language = Literal["fr", "en"]
Channel = Literal["privacy_center", "api", "import", "controller"]
StateIn = Literal["given", "refused", "withdrawn", "revoked", "invalidated"]


class ConsentChangeRequest(BaseModel):
    """Grant, refuse or withdraw: the same request, the same number of steps."""

    model_config = ConfigDict(extra="forbid")

    decisions: dict[str, StateIn] | None = Field(
        default=None,
        description=(
            "Decision per target: a purpose key, '@sale_sharing' (CCPA opt-out of sale/sharing) "
            "or '@sensitive' (limit the use of sensitive data)."
        ),
        examples=[{"email_marketing": "given", "personalised_offers": "refused"}],
    )
    all: Literal["given", "refused"] | None = Field(
        default=None,
        description="'Accept all' or 'Refuse all' consent purposes (given consents are withdrawn).",
    )
    language: Language = Field(default="fr", description="Language the customer was shown.")
    channel: Channel = Field(default="api", description="Where the decision was made.")
    method: str = Field(
        default="api-call",
        max_length=64,
        description="How it was collected (a switch, a form, a banner).",
    )
    manifest_version: int | None = Field(
        default=None, ge=1, description="The manifest version the customer was shown."
    )

    @model_validator(mode="after")
    def _one_of(self) -> ConsentChangeRequest:
        if (self.decisions is None) == (self.all is None):
            raise ValueError("give either 'decisions' or 'all'")
        if self.decisions is not None and not self.decisions:
            raise ValueError("'decisions' must name at least one target")
        return self


class PurposeDecision(BaseModel):
    target: str
    legal_basis: str | None
    state: str | None = Field(description="Latest recorded state; null when never decided.")
    since: datetime | None
    expires_at: datetime | None
    channel: str | None
    allowed: bool | None = Field(description="Whether the purpose may process data now.")
    reason: str | None


class ConsentOverview(BaseModel):
    customer: uuid.UUID
    manifest_version: int
    decisions: list[PurposeDecision]
    gpc_honoured: bool = Field(
        description="A Global Privacy Control signal opted this customer out of sale/sharing."
    )


class ConsentChangeResult(BaseModel):
    receipt_id: str
    changes: dict[str, str]
    overview: ConsentOverview


class ConsentEventRead(BaseModel):
    id: int
    target: str
    kind: str
    state: str
    manifest_version: int
    language: str
    channel: str
    method: str
    at: datetime
    expires_at: datetime | None
    actor: str
    evidence: str
    receipt_id: str


class ReceiptListItem(BaseModel):
    receipt_id: str
    issued_at: datetime


class DecisionRead(BaseModel):
    purpose: str
    allowed: bool
    reason: str


class DailyCountRead(BaseModel):
    day: date
    target: str
    given: int
    refused: int
    withdrawn: int
    opt_in_rate: float | None
    withdrawal_rate: float | None


class TcfImportRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tc_string: str = Field(min_length=1, max_length=20_000)
    language: Language = "fr"
