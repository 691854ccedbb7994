"""HTTP adapter of rights requests.

Requesters need no API key: they submit, receive a code by e-mail, send it back and get a
token (header ``X-Request-Token``) to follow the request and download the answer. Staff use an
API key with the ``rights.read`` / ``rights.manage`` scopes.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Response, status
from starlette.concurrency import run_in_threadpool

from confiance.actors import Actor
from confiance.erasure.service import verify_certificate
from confiance.rights import export as rights_export
from confiance.rights.errors import CodeRejected, RequestNotFound, WrongStatus
from confiance.rights.schemas import (
    ApproveBody,
    AssignBody,
    CertificateBody,
    CodeBody,
    IntakeRead,
    ReasonBody,
    RequestCreate,
    RequestRead,
    StaffVerifyBody,
    VerificationRead,
)
from confiance.runtime import Runtime
from confiance.web.deps import ApiCaller, Rt

router = APIRouter(tags=["rights"])

REQUESTER = Actor.system("requester")
TokenHeader = Annotated[str, Header(alias="X-Request-Token", min_length=1, max_length=200)]

_RECEIVED = {
    "fr": "Si cette adresse est la vôtre, vous allez recevoir un code pour confirmer la demande.",
    "en": "If this address is yours, you will receive a code to confirm the request.",
}


@router.post("/v1/rights/requests", status_code=status.HTTP_202_ACCEPTED, response_model=IntakeRead)
def submit_request(body: RequestCreate, runtime: Rt) -> IntakeRead:
    """Ask to exercise a right. A code is sent to the address; the answer never says whether
    a customer has it."""
    with runtime.db.transaction() as session:
        intake = runtime.rights.submit(
            session,
            kind=body.kind,
            email=body.email,
            actor=REQUESTER,
            jurisdiction=body.jurisdiction,
            language=body.language,
            channel="api",
            details=body.details,
        )
    return IntakeRead(
        id=intake.id,
        reference=intake.reference,
        status=intake.status,
        due_at=intake.due_at,
        message=_RECEIVED[body.language],
    )


@router.post("/v1/rights/requests/{request_id}/code", status_code=status.HTTP_202_ACCEPTED)
def resend_code(request_id: uuid.UUID, runtime: Rt) -> dict[str, str]:
    """Send a new code; the previous one stops working."""
    with runtime.db.transaction() as session:
        runtime.rights.resend_code(session, request_id=request_id)
    return {"status": "received"}


@router.post("/v1/rights/requests/{request_id}/verify", response_model=VerificationRead)
def verify_request(request_id: uuid.UUID, body: CodeBody, runtime: Rt) -> VerificationRead:
    """Confirm the address with the code received; returns the token to follow the request."""
    with runtime.db.transaction() as session:
        result = runtime.rights.verify(
            session, request_id=request_id, code=body.code, actor=REQUESTER
        )
    if isinstance(result, CodeRejected):
        raise result  # after the commit: the failed attempt counts
    return VerificationRead(
        id=result.id,
        reference=result.reference,
        status=result.status,
        access_token=result.access_token,
    )


@router.get("/v1/rights/requests/{request_id}", response_model=RequestRead)
def follow_request(request_id: uuid.UUID, token: TokenHeader, runtime: Rt) -> RequestRead:
    """The request's status, deadline and history, for the requester."""
    with runtime.db.read() as session:
        view = runtime.rights.authorize(session, request_id=request_id, token=token)
    return RequestRead.of(view, staff=False)


def _export(runtime: Runtime, request_id: uuid.UUID, token: str, language: str | None) -> Any:
    with runtime.db.transaction() as session:
        view = runtime.rights.authorize(session, request_id=request_id, token=token)
        if view.kind not in ("access", "portability") or view.status != "completed":
            raise WrongStatus("download the data of", view.status, ["completed access request"])
        if view.customer_pid is None or not view.outcome or "download_until" not in view.outcome:
            raise RequestNotFound()
        archive = rights_export.build_export(
            session,
            runtime=runtime,
            actor=Actor(
                "system", f"requester:{view.reference}", scopes=frozenset({"consent.read"})
            ),
            customer_id=uuid.UUID(view.customer_pid),
            language=language or view.language,
            reason=f"rights.{view.kind}",
        )
        runtime.rights.record_download(
            session, request_id=request_id, actor=REQUESTER, sha256=archive.sha256
        )
    return archive


@router.get(
    "/v1/rights/requests/{request_id}/export",
    response_class=Response,
    responses={200: {"content": {"application/zip": {}}}},
)
async def download_export(
    request_id: uuid.UUID,
    token: TokenHeader,
    runtime: Rt,
    language: Annotated[str | None, Query(pattern="^(fr|en)$")] = None,
) -> Response:
    """Everything held about the requester: a ZIP of JSON, CSV and a readable summary."""
    archive = await run_in_threadpool(_export, runtime, request_id, token, language)
    return Response(
        content=archive.content,
        media_type=archive.media_type,
        headers={
            "Content-Disposition": f'attachment; filename="{archive.filename}"',
            "Digest": f"sha-256={archive.sha256}",
            "Cache-Control": "no-store",
        },
    )


@router.get(
    "/v1/rights/requests/{request_id}/certificate",
    response_class=Response,
    responses={200: {"content": {"application/jwt": {}}}},
)
def erasure_certificate(request_id: uuid.UUID, token: TokenHeader, runtime: Rt) -> Response:
    """The signed erasure certificate of a completed erasure request (a compact JWS)."""
    with runtime.db.read() as session:
        view = runtime.rights.authorize(session, request_id=request_id, token=token)
    certificate = (view.outcome or {}).get("certificate")
    if not certificate:
        raise RequestNotFound()
    return Response(content=certificate, media_type="application/jwt")


@router.post("/v1/rights/certificates/verify")
def check_certificate(body: CertificateBody, runtime: Rt) -> dict[str, Any]:
    """Check an erasure certificate's signature; returns what it certifies."""
    return verify_certificate(body.certificate, keys=runtime.keys)


# -- staff ------------------------------------------------------------------------------------
@router.get("/v1/staff/rights/requests", response_model=list[RequestRead])
def request_queue(
    runtime: Rt,
    caller: ApiCaller,
    status_: Annotated[list[str] | None, Query(alias="status")] = None,
    kind: str | None = None,
    standing: Annotated[str | None, Query(pattern="^(on_time|due_soon|overdue)$")] = None,
    assignee: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[RequestRead]:
    """Open requests (or those of ``status``), soonest deadline first."""
    with runtime.db.read() as session:
        views = runtime.rights.queue(
            session,
            actor=caller,
            status=status_,
            kind=kind,
            standing=standing,
            assignee=assignee,
            limit=limit,
            offset=offset,
        )
    return [RequestRead.of(v, staff=True) for v in views]


@router.get("/v1/staff/rights/requests/{request_id}", response_model=RequestRead)
def request_detail(request_id: uuid.UUID, runtime: Rt, caller: ApiCaller) -> RequestRead:
    with runtime.db.read() as session:
        view = runtime.rights.get(session, request_id=request_id, actor=caller)
    return RequestRead.of(view, staff=True)


@router.post("/v1/staff/rights/requests/{request_id}/assign", response_model=RequestRead)
def assign_request(
    request_id: uuid.UUID, body: AssignBody, runtime: Rt, caller: ApiCaller
) -> RequestRead:
    with runtime.unit(caller) as session:
        view = runtime.rights.assign(
            session, request_id=request_id, assignee=body.assignee, actor=caller
        )
    return RequestRead.of(view, staff=True)


@router.post("/v1/staff/rights/requests/{request_id}/verify", response_model=RequestRead)
def verify_identity(
    request_id: uuid.UUID, body: StaffVerifyBody, runtime: Rt, caller: ApiCaller
) -> RequestRead:
    """Confirm the identity by other means than the code, saying how."""
    with runtime.unit(caller) as session:
        view = runtime.rights.staff_verify(
            session, request_id=request_id, actor=caller, note=body.note
        )
    return RequestRead.of(view, staff=True)


@router.post("/v1/staff/rights/requests/{request_id}/approve", response_model=RequestRead)
def approve_request(
    request_id: uuid.UUID, runtime: Rt, caller: ApiCaller, body: ApproveBody | None = None
) -> RequestRead:
    """Carry the request out and answer the requester."""
    with runtime.unit(caller) as session:
        view = runtime.rights.approve(
            session,
            request_id=request_id,
            actor=caller,
            accept_failed_connectors=bool(body and body.accept_failed_connectors),
        )
    runtime.eraser.after_commit(runtime.db)
    return RequestRead.of(view, staff=True)


@router.post("/v1/staff/rights/requests/{request_id}/refuse", response_model=RequestRead)
def refuse_request(
    request_id: uuid.UUID, body: ReasonBody, runtime: Rt, caller: ApiCaller
) -> RequestRead:
    with runtime.unit(caller) as session:
        view = runtime.rights.refuse(
            session, request_id=request_id, reason=body.reason, actor=caller
        )
    return RequestRead.of(view, staff=True)


@router.post("/v1/staff/rights/requests/{request_id}/extend", response_model=RequestRead)
def extend_request(
    request_id: uuid.UUID, body: ReasonBody, runtime: Rt, caller: ApiCaller
) -> RequestRead:
    with runtime.unit(caller) as session:
        view = runtime.rights.extend(
            session, request_id=request_id, reason=body.reason, actor=caller
        )
    return RequestRead.of(view, staff=True)


@router.post("/v1/staff/rights/requests/{request_id}/lift-restriction", response_model=RequestRead)
def lift_restriction(
    request_id: uuid.UUID, body: ReasonBody, runtime: Rt, caller: ApiCaller
) -> RequestRead:
    with runtime.unit(caller) as session:
        view = runtime.rights.lift_restriction(
            session, request_id=request_id, actor=caller, reason=body.reason
        )
    return RequestRead.of(view, staff=True)
