"""Shapes of the rights API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from confiance.rights.service import RequestView

__all__ = [
    "ApproveBody",
    "AssignBody",
    "CodeBody",
    "IntakeRead",
    "ReasonBody",
    "RequestCreate",
    "RequestRead",
    "StaffVerifyBody",
    "VerificationRead",
]

Kind = Literal[
    "access",
    "portability",
    "rectification",
    "erasure",
    "restriction",
    "objection",
    "opt_out_sale",
    "limit_sensitive",
]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RequestCreate(_Body):
    kind: Kind
    email: str = Field(max_length=320, description="Where the one-time code is sent.")
    jurisdiction: Literal["gdpr", "ccpa"] = "gdpr"
    language: Literal["fr", "en"] = "fr"
    details: dict[str, Any] = Field(
        default_factory=dict,
        description=(
            "rectification: {'values': {field: value}}; objection: {'purposes': [key]}; "
            "any kind: {'note': text}."
        ),
    )


class IntakeRead(BaseModel):
    id: uuid.UUID
    reference: str
    status: str
    due_at: datetime
    message: str


class CodeBody(_Body):
    code: str = Field(min_length=1, max_length=16)


class VerificationRead(BaseModel):
    id: uuid.UUID
    reference: str
    status: str
    access_token: str = Field(
        description="Shown once: send it as X-Request-Token to follow the request."
    )


class HistoryItem(BaseModel):
    at: datetime
    actor: str
    action: str
    status: str
    note: str | None


class RequestRead(BaseModel):
    id: uuid.UUID
    reference: str
    kind: str
    jurisdiction: str
    legal_ground: str
    status: str
    channel: str
    language: str
    customer: str | None
    received_at: datetime
    verified_at: datetime | None
    acknowledged_at: datetime | None
    acknowledgement_due_at: datetime | None
    due_at: datetime
    extended: bool
    extension_reason: str | None
    closed_at: datetime | None
    refusal_reason: str | None
    assignee: str | None
    outcome: dict[str, Any] | None
    standing: str | None
    history: list[HistoryItem] = []

    @classmethod
    def of(cls, view: RequestView, *, staff: bool) -> RequestRead:
        return cls(
            id=view.id,
            reference=view.reference,
            kind=view.kind,
            jurisdiction=view.jurisdiction,
            legal_ground=view.legal_ground,
            status=view.status,
            channel=view.channel,
            language=view.language,
            customer=view.customer_pid if staff else None,
            received_at=view.received_at,
            verified_at=view.verified_at,
            acknowledged_at=view.acknowledged_at,
            acknowledgement_due_at=view.ack_due_at,
            due_at=view.due_at,
            extended=view.extended,
            extension_reason=view.extension_reason,
            closed_at=view.closed_at,
            refusal_reason=view.refusal_reason,
            assignee=view.assignee if staff else None,
            outcome=view.outcome,
            standing=view.standing,
            history=[
                HistoryItem(**{**h, "actor": h["actor"] if staff else h["actor"].split(":")[0]})
                for h in view.history
            ],
        )


class AssignBody(_Body):
    assignee: str = Field(min_length=1, max_length=128)


class ReasonBody(_Body):
    reason: str = Field(min_length=1, max_length=2000)


class StaffVerifyBody(_Body):
    note: str = Field(min_length=1, max_length=2000, description="How the identity was checked.")


class ApproveBody(_Body):
    accept_failed_connectors: bool = False


class CertificateBody(_Body):
    certificate: str = Field(min_length=1, max_length=100_000)
