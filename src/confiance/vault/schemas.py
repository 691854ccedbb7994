"""Pydantic models at the API boundary of the vault."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "CustomerCreate",
    "CustomerCreated",
    "CustomerRead",
    "CustomerRectify",
    "LookupRequest",
    "LookupResult",
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CustomerCreate(_Strict):
    purposes: list[str] = Field(
        min_length=1,
        description="Purposes the data is collected for; every field must be needed by one.",
        examples=[["order_fulfilment"]],
    )
    values: dict[str, Any] = Field(
        min_length=1,
        description="Field values keyed by the manifest's field names.",
        examples=[{"first_name": "Camille", "email": "camille@exemple.example"}],
    )


class CustomerCreated(BaseModel):
    id: uuid.UUID
    fields: list[str]
    manifest_version: int


class CustomerRectify(_Strict):
    purpose: str = Field(description="The purpose under which the values are corrected.")
    values: dict[str, Any] = Field(min_length=1, description="New values by field name.")


class CustomerRead(BaseModel):
    id: uuid.UUID | None = Field(description="Absent for purposes that see pseudonymised data.")
    pseudonym: str | None = Field(
        default=None, description="Stable keyed pseudonym, for pseudonymised purposes."
    )
    purpose: str
    values: dict[str, Any]
    manifest_version: int


class LookupRequest(_Strict):
    purpose: str = Field(description="Why the customer is being looked up.")
    field: str = Field(description="A field declared with 'lookup: true' (e-mail, phone).")
    value: str = Field(description="The value to find; sent in the body, never in a URL.")


class LookupResult(BaseModel):
    customers: list[uuid.UUID]


class ContractEnd(BaseModel):
    model_config = ConfigDict(extra="forbid")

    purpose: str = Field(description="A contract purpose of the caller (e.g. order_fulfilment).")
    at: datetime | None = Field(
        default=None, description="When it ended (default: now); an aware date and time."
    )


class ContractEnded(BaseModel):
    id: uuid.UUID
    contract_ended_at: datetime
