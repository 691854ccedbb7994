"""HTTP adapter of the vault: parse, authenticate, call one verb, shape the answer."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, status

from confiance.vault.schemas import (
    ContractEnd,
    ContractEnded,
    CustomerCreate,
    CustomerCreated,
    CustomerRead,
    CustomerRectify,
    LookupRequest,
    LookupResult,
)
from confiance.web.deps import ApiCaller, Rt

router = APIRouter(prefix="/v1/customers", tags=["customers"])


@router.post("", status_code=status.HTTP_201_CREATED, response_model=CustomerCreated)
def create_customer(body: CustomerCreate, runtime: Rt, caller: ApiCaller) -> CustomerCreated:
    """Collect a new customer's data for the given purposes."""
    with runtime.unit(caller) as session:
        created = runtime.vault.collect(
            session, actor=caller, purposes=body.purposes, values=body.values
        )
    return CustomerCreated(
        id=created.id, fields=list(created.fields), manifest_version=created.manifest_seq
    )


@router.get("/{customer_id}", response_model=CustomerRead)
def read_customer(
    customer_id: uuid.UUID,
    purpose: Annotated[str, Query(description="The purpose the data is read for.")],
    runtime: Rt,
    caller: ApiCaller,
) -> CustomerRead:
    """The fields the purpose needs, and only those."""
    with runtime.unit(caller) as session:
        view = runtime.vault.read(session, actor=caller, purpose=purpose, customer_id=customer_id)
    return CustomerRead(
        id=view.id,
        pseudonym=view.pseudonym,
        purpose=view.purpose,
        values=view.values,
        manifest_version=view.manifest_seq,
    )


@router.patch("/{customer_id}", response_model=CustomerCreated)
def rectify_customer(
    customer_id: uuid.UUID, body: CustomerRectify, runtime: Rt, caller: ApiCaller
) -> CustomerCreated:
    """Correct or complete values (GDPR art. 16)."""
    with runtime.unit(caller) as session:
        changed = runtime.vault.rectify(
            session, actor=caller, purpose=body.purpose, customer_id=customer_id, values=body.values
        )
    return CustomerCreated(
        id=changed.id, fields=list(changed.fields), manifest_version=changed.manifest_seq
    )


@router.post("/lookup", response_model=LookupResult)
def lookup_customer(body: LookupRequest, runtime: Rt, caller: ApiCaller) -> LookupResult:
    """Find customers by e-mail or phone through the blind index (value in the body)."""
    with runtime.unit(caller) as session:
        found = runtime.vault.find(
            session, actor=caller, purpose=body.purpose, field=body.field, value=body.value
        )
    return LookupResult(customers=found)


@router.post("/{customer_id}/contract-end", response_model=ContractEnded)
def end_contract(
    customer_id: uuid.UUID, body: ContractEnd, runtime: Rt, caller: ApiCaller
) -> ContractEnded:
    """Record that the customer's contract ended: retention periods counted from the end of
    the contract start then (and the retention sweep applies them)."""
    with runtime.unit(caller) as session:
        ended = runtime.vault.end_contract(
            session, actor=caller, purpose=body.purpose, customer_id=customer_id, at=body.at
        )
    return ContractEnded(id=customer_id, contract_ended_at=ended)
