"""HTTP adapter of the consent ledger.

A request carrying ``Sec-GPC: 1`` about a known customer records their opt-out of sale/sharing
before anything else is done, whatever the endpoint and whatever the key's scopes.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import StreamingResponse
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from confiance import clock
from confiance.actors import Actor
from confiance.consent.gpc import GPC_JSON, gpc_requested
from confiance.consent.rules import State
from confiance.consent.schemas import (
    ConsentChangeRequest,
    ConsentChangeResult,
    ConsentEventRead,
    ConsentOverview,
    DailyCountRead,
    DecisionRead,
    PurposeDecision,
    ReceiptListItem,
    TcfImportRequest,
)
from confiance.consent.service import (
    Change,
    ChangeJob,
    ChangeRecord,
    ConsentContext,
    Overview,
    evidence_of,
)
from confiance.crypto import public_jwk
from confiance.receipts import ReceiptKey
from confiance.runtime import Runtime
from confiance.web.deps import ApiCaller, Rt

router = APIRouter(tags=["consent"])
well_known = APIRouter(tags=["well-known"])


def _honour_gpc(
    runtime: Runtime, session: Session, request: Request, customer_id: uuid.UUID, caller: Actor
) -> None:
    evidence = gpc_evidence(request.headers.getlist("sec-gpc"), request.url.path)
    if evidence is not None:
        runtime.consent.honour_gpc(
            session, customer_id=customer_id, actor=caller, evidence=evidence
        )


def gpc_evidence(values: list[str], path: str) -> str | None:
    """The evidence of the ``Sec-GPC: 1`` signal a request carries (``None`` without one)."""
    if not gpc_requested(values):
        return None
    return evidence_of(b"Sec-GPC: 1\n" + path.encode())


def _record_gpc(runtime: Runtime, request: Request, customer_id: uuid.UUID, caller: Actor) -> None:
    with runtime.unit(caller) as session:
        _honour_gpc(runtime, session, request, customer_id, caller)


def _overview(view: Overview) -> ConsentOverview:
    return ConsentOverview(
        customer=view.customer_id,
        manifest_version=view.manifest_seq,
        gpc_honoured=view.gpc_honoured,
        decisions=[
            PurposeDecision(
                target=item.target,
                legal_basis=item.legal_basis,
                state=None if item.row is None else item.row.state,
                since=item.since,
                expires_at=None if item.row is None else item.row.expires_at,
                channel=None if item.row is None else item.row.channel,
                allowed=item.allowed,
                reason=item.reason,
            )
            for item in view.items
        ],
    )


@router.get("/v1/customers/{customer_id}/consents", response_model=ConsentOverview)
def consent_overview(
    customer_id: uuid.UUID, request: Request, runtime: Rt, caller: ApiCaller
) -> ConsentOverview:
    """Each purpose: the customer's latest decision, since when, and whether it may run now."""
    with runtime.unit(caller) as session:
        _honour_gpc(runtime, session, request, customer_id, caller)
        view = runtime.consent.overview(session, customer_id=customer_id, actor=caller)
    return _overview(view)


@router.post("/v1/customers/{customer_id}/consents", response_model=ConsentChangeResult)
async def change_consents(
    customer_id: uuid.UUID,
    body: ConsentChangeRequest,
    request: Request,
    runtime: Rt,
    caller: ApiCaller,
) -> ConsentChangeResult:
    """Grant, refuse or withdraw (one purpose, several, or all): one call, one receipt.

    Answered once the change is committed; changes arriving together share one commit
    (:mod:`confiance.consent.writer`)."""
    job = change_job(
        customer_id, body, caller, request.headers.getlist("sec-gpc"), request.url.path
    )
    record = await runtime.consent_writer.submit(job)
    assert record is not None  # a job with decisions always yields its record
    return change_result(record)


def change_job(
    customer_id: uuid.UUID,
    body: ConsentChangeRequest,
    caller: Actor,
    gpc_values: list[str],
    path: str,
) -> ChangeJob:
    """The change a request asks for (this route's, and the fast lane's)."""
    context = ConsentContext(
        channel=body.channel,
        method=body.method,
        language=body.language,
        # The evidence: a hash of what was decided, where and how, for this customer.
        evidence=evidence_of(f"{customer_id}\n{body.model_dump_json()}".encode()),
        manifest_seq=body.manifest_version,
    )
    return ChangeJob(
        customer_id=customer_id,
        actor=caller,
        context=context,
        changes=()
        if body.decisions is None
        else tuple(Change(t, State(s)) for t, s in body.decisions.items()),
        answer=None if body.all is None else State(body.all),
        gpc_evidence=gpc_evidence(gpc_values, path),
    )


def change_result(record: ChangeRecord) -> ConsentChangeResult:
    """What the API answers about a recorded change."""
    assert record.overview is not None
    return ConsentChangeResult(
        receipt_id=record.receipt_id,
        changes={c.target: c.state.value for c in record.changes},
        overview=_overview(record.overview),
    )


@router.post("/v1/customers/{customer_id}/consents/tcf", response_model=ConsentChangeResult)
def import_tc_string(
    customer_id: uuid.UUID,
    body: TcfImportRequest,
    request: Request,
    runtime: Rt,
    caller: ApiCaller,
) -> ConsentChangeResult:
    """Record the decisions of an IAB TCF v2.2 TC string, through the manifest's mapping."""
    with runtime.unit(caller) as session:
        _honour_gpc(runtime, session, request, customer_id, caller)
        record = runtime.consent.import_tcf(
            session,
            customer_id=customer_id,
            tc_string=body.tc_string,
            actor=caller,
            language=body.language,
        )
    return change_result(record)


@router.get("/v1/customers/{customer_id}/consents/history", response_model=list[ConsentEventRead])
def consent_history(
    customer_id: uuid.UUID, runtime: Rt, caller: ApiCaller
) -> list[ConsentEventRead]:
    """Every decision ever recorded for this customer, oldest first."""
    with runtime.unit(caller) as session:
        events = runtime.consent.history(session, customer_id=customer_id, actor=caller)
    return [
        ConsentEventRead(
            id=e.id,
            target=e.target,
            kind=e.kind,
            state=e.state,
            manifest_version=e.manifest_seq,
            language=e.language,
            channel=e.channel,
            method=e.method,
            at=e.at,
            expires_at=e.expires_at,
            actor=e.actor,
            evidence=e.evidence,
            receipt_id=e.receipt_id,
        )
        for e in events
    ]


@router.get("/v1/customers/{customer_id}/decisions/{purpose}", response_model=DecisionRead)
async def decision(
    customer_id: uuid.UUID, purpose: str, request: Request, runtime: Rt, caller: ApiCaller
) -> DecisionRead:
    """May this purpose process this customer's data now?

    Asked on every page view by some integrations: it runs on the event loop (two indexed
    reads and a cached decision), except when a GPC signal has to be recorded."""
    if gpc_requested(request.headers.getlist("sec-gpc")):
        await run_in_threadpool(_record_gpc, runtime, request, customer_id, caller)
    with runtime.db.read() as session:
        verdict = runtime.consent.decision(
            session, customer_id=customer_id, purpose=purpose, actor=caller
        )
    return DecisionRead(purpose=purpose, allowed=verdict.allowed, reason=verdict.reason)


@router.get("/v1/customers/{customer_id}/receipts", response_model=list[ReceiptListItem])
def list_receipts(customer_id: uuid.UUID, runtime: Rt, caller: ApiCaller) -> list[ReceiptListItem]:
    with runtime.unit(caller) as session:
        items = runtime.consent.receipts_of(session, customer_id=customer_id, actor=caller)
    return [ReceiptListItem(receipt_id=r, issued_at=at) for r, at in items]


@router.get(
    "/v1/customers/{customer_id}/receipts/{receipt_id}",
    responses={200: {"content": {"application/jose": {}}}},
)
def download_receipt(
    customer_id: uuid.UUID, receipt_id: str, runtime: Rt, caller: ApiCaller
) -> Response:
    """The signed receipt (compact JWS): verify it with the key at
    /.well-known/confiance-receipts.jwks.json or 'confiance receipts verify'."""
    with runtime.unit(caller) as session:
        jws = runtime.consent.receipt(
            session, receipt_id=receipt_id, customer_id=customer_id, actor=caller
        )
    return Response(
        jws,
        media_type="application/jose",
        headers={"Content-Disposition": f'attachment; filename="receipt-{receipt_id}.jws"'},
    )


@router.get(
    "/v1/audiences/{purpose}",
    responses={200: {"content": {"text/csv": {}}}},
    response_class=StreamingResponse,
)
def export_audience(purpose: str, runtime: Rt, caller: ApiCaller) -> StreamingResponse:
    """Every customer this purpose may process now, as CSV of pseudonymous ids, streamed."""
    ids = runtime.consent.audience(runtime.db, purpose=purpose, actor=caller)
    first = next(ids, None)  # checks (scope, purpose) run now, before the 200 is sent

    def rows() -> Iterator[bytes]:
        yield b"customer_id\n"
        if first is None:
            return
        chunk = [first]
        for customer in ids:
            chunk.append(customer)
            if len(chunk) >= 10_000:
                yield ("\n".join(chunk) + "\n").encode()
                chunk = []
        yield ("\n".join(chunk) + "\n").encode()

    return StreamingResponse(
        rows(),
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="audience-{purpose}.csv"'},
    )


@router.get("/v1/consents/daily", response_model=list[DailyCountRead])
def daily_counts(
    runtime: Rt,
    caller: ApiCaller,
    since: Annotated[
        date | None, Query(description="First day (UTC); default 30 days ago.")
    ] = None,
    until: Annotated[date | None, Query(description="Last day (UTC); default today.")] = None,
) -> list[DailyCountRead]:
    """Opt-in, refusal and withdrawal counts and rates per purpose per day."""
    today = clock.now().date()
    with runtime.unit(caller) as session:
        counts = runtime.consent.daily_counts(
            session,
            since=since or today - timedelta(days=30),
            until=until or today,
            actor=caller,
        )
    return [
        DailyCountRead(
            day=c.day,
            target=c.target,
            given=c.given,
            refused=c.refused,
            withdrawn=c.withdrawn,
            opt_in_rate=c.opt_in_rate,
            withdrawal_rate=c.withdrawal_rate,
        )
        for c in counts
    ]


@well_known.get("/.well-known/gpc.json")
def gpc_json() -> Response:
    """Global Privacy Control support resource."""
    return Response(json.dumps(GPC_JSON), media_type="application/json")


@well_known.get("/.well-known/confiance-receipts.jwks.json")
def receipts_jwks(runtime: Rt) -> dict[str, list[dict[str, str]]]:
    """The public key consent receipts are signed with (JWK set)."""
    key = ReceiptKey.from_ring(runtime.keys.get())
    return {"keys": [public_jwk(key.public_key, key.kid)]}
