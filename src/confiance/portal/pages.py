"""The privacy center's pages (``/privacy``): customers sign in with an e-mailed code and see,
decide and ask for everything about their data.

Each route is an adapter: it reads the session cookie, checks the form's CSRF token, calls the
services (portal, vault, consent ledger, rights desk) in one transaction and renders a template.
Nothing needs JavaScript; every text goes through the catalogs (``portal.po``).

- Before sign-in, forms carry the token of the ``csrf`` cookie (:func:`security.form_token`);
  after, the session's own token. A POST from another site is refused before anything is done.
- The address typed at sign-in waits for the code in a sealed, short-lived cookie, never in the
  URL (:class:`confiance.portal.forms.PendingSignIn`).
- A signed-in request carrying ``Sec-GPC: 1`` records the opt-out of sale/sharing first, as the
  API does, and the consents page says the signal was honoured.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from confiance.consent.gpc import gpc_requested
from confiance.consent.rules import SALE_SHARING, State
from confiance.consent.service import ConsentContext, evidence_of
from confiance.manifest import service as manifest_service
from confiance.manifest.errors import InvalidFieldValue
from confiance.manifest.schemas import FieldType, Manifest
from confiance.portal import forms, views
from confiance.portal.errors import FeedbackInvalid, NothingHeld, NotSignedIn
from confiance.portal.service import TOPICS, PortalSignedIn
from confiance.rights.errors import CodeRejected, InvalidRequestDetails, TooManyCodes
from confiance.rights.export import build_export
from confiance.rights.service import RequestView
from confiance.runtime import Runtime
from confiance.web import i18n
from confiance.web.deps import Rt
from confiance.web.pages import redirect, render
from confiance.web.security import check_csrf, cookie_name, form_token, set_cookie

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

#: Cookie names (``__Host-`` prefixed on HTTPS by :func:`security.cookie_name`).
SESSION = "privacy"
PENDING = "privacy_pending"

N_ = views.N_

#: Messages shown after a redirect, named in the URL by a key (never by what was typed).
NOTICES = {
    "signed-out": N_("You are signed out."),
    "expired": N_("Your code has expired or was used up: ask for a new one."),
    "saved": N_("Your choices are saved and apply from now on."),
    "unchanged": N_("Nothing changed: these were already your choices."),
    "accepted-all": N_("You accepted every use of your data that needs your consent."),
    "refused-all": N_("You refused every use of your data that needs your consent."),
    "rectification": N_(
        "Your correction was sent. Our team checks it and answers by the date shown below."
    ),
    "erasure": N_(
        "Your erasure request was sent. Our team carries it out by the date shown below."
    ),
    "opted-out": N_("Done: your data is no longer sold or shared."),
}

TOPIC_LABELS = {
    "data_use": N_("How my data is used"),
    "consent": N_("My consent choices"),
    "rights_request": N_("A request about my rights"),
    "security": N_("The security of my data"),
    "other": N_("Something else"),
}

SURVEY_QUESTIONS = (
    ("trust", N_("How much do you trust us with your data?")),
    ("clarity", N_("How clear is what we do with your data?")),
    ("control", N_("How much control do you feel you have over your data?")),
)

#: Field types a customer may correct from the center (lists and payment tokens come from
#: their orders and the payment provider, not from a form).
CORRECTABLE = (FieldType.STRING, FieldType.EMAIL, FieldType.PHONE, FieldType.DATE, FieldType.ENUM)

Form_ = Annotated[str, Form()]
Strings = Annotated[list[str] | None, Form()]


# -- helpers -------------------------------------------------------------------------------------


def _language(request: Request) -> str:
    return i18n.language_of(request)


def _texts(request: Request) -> views.Texts:
    language = _language(request)
    return views.Texts.of(i18n.translations(language).gettext, language)


def _token(request: Request) -> str:
    return request.cookies.get(cookie_name(request, SESSION), "")


def _forget(response: Response, request: Request, base: str) -> None:
    response.delete_cookie(
        cookie_name(request, base),
        path="/",
        secure=request.url.scheme == "https",
        httponly=True,
        samesite="strict",
    )


def _notice(request: Request) -> str | None:
    key = request.query_params.get("done")
    if key not in NOTICES:
        return None
    return _texts(request).gettext(NOTICES[key])


@contextmanager
def _customer(
    request: Request, runtime: Runtime, *, csrf: str | None = None, post: bool = False
) -> Iterator[tuple[Session, PortalSignedIn]]:
    """One transaction for a signed-in customer's request. A POST must carry the session's
    CSRF token; a ``Sec-GPC: 1`` request records the opt-out of sale/sharing first."""
    with runtime.db.transaction() as session:
        signed = runtime.portal.current(session, token=_token(request))
        if post:
            check_csrf(request, csrf, signed.csrf_token)
        asked = request.query_params.get("lang")
        if asked in i18n.LANGUAGES:
            runtime.portal.set_language(session, token=signed.token, language=asked)
        if gpc_requested(request.headers.getlist("sec-gpc")):
            runtime.consent.honour_gpc(
                session,
                customer_id=signed.customer_id,
                actor=signed.actor,
                evidence=evidence_of(b"Sec-GPC: 1\n" + request.url.path.encode()),
                language=_language(request),
            )
        yield session, signed


def _maybe_customer(request: Request, runtime: Runtime) -> PortalSignedIn | None:
    if not _token(request):
        return None
    try:
        with runtime.db.transaction() as session:
            return runtime.portal.current(session, token=_token(request))
    except NotSignedIn:
        return None


def _page(
    request: Request,
    template: str,
    signed: PortalSignedIn | None,
    active: str,
    context: dict[str, Any] | None = None,
    *,
    status: int = 200,
) -> HTMLResponse:
    values: dict[str, Any] = {
        "signed": signed is not None,
        "active": active,
        "csrf": signed.csrf_token if signed else form_token(request),
        "notice": _notice(request),
        "gpc_signal": gpc_requested(request.headers.getlist("sec-gpc")),
        **(context or {}),
    }
    return render(request, f"portal/{template}", values, status=status)


# -- sign-in -------------------------------------------------------------------------------------


@router.get("/privacy", response_class=HTMLResponse)
def home(request: Request, runtime: Rt) -> Response:
    """What the privacy center is, and the form to sign in."""
    if _maybe_customer(request, runtime) is not None:
        return redirect(request, "/privacy/me")
    with runtime.db.read() as session:
        controller = manifest_service.current(session).manifest.controller.name
    return _page(request, "index.html", None, "home", {"controller": controller})


@router.get("/privacy/sign-in", response_class=HTMLResponse)
def sign_in_page(request: Request, runtime: Rt) -> Response:
    """Where a page asked of a customer not (or no longer) signed in sends them."""
    return home(request, runtime)


@router.post("/privacy/sign-in", response_class=HTMLResponse)
def ask_for_code(request: Request, runtime: Rt, email: Form_ = "", csrf: Form_ = "") -> Response:
    """Send a sign-in code: the same answer whatever the address."""
    check_csrf(request, csrf, request.cookies.get(cookie_name(request, "csrf")))
    error: str | None = None
    status = 422
    try:
        with runtime.db.transaction() as session:
            runtime.portal.request_code(session, email=email, language=_language(request))
    except InvalidRequestDetails:
        error = N_("Enter an e-mail address such as name@example.com.")
    except TooManyCodes as exc:
        error = N_(
            "Several codes were sent to this address within the hour: use the last one you "
            "received, or try again in %(minutes)s minutes."
        )
        status = 429
        minutes = max(1, int(str(exc.fields.get("retry_after_seconds", 3600))) // 60)
        return _sign_in_error(request, runtime, email, error, status, minutes=minutes)
    if error is not None:
        return _sign_in_error(request, runtime, email, error, status)
    response = redirect(request, "/privacy/code")
    ttl = runtime.settings.rights.code_ttl_minutes
    pending = forms.PendingSignIn.start(email, minutes=ttl)
    set_cookie(response, request, PENDING, pending.seal(runtime.keys), max_age=ttl * 60)
    return response


def _sign_in_error(
    request: Request, runtime: Runtime, email: str, error: str, status: int, **values: Any
) -> HTMLResponse:
    with runtime.db.read() as session:
        controller = manifest_service.current(session).manifest.controller.name
    return _page(
        request,
        "index.html",
        None,
        "home",
        {"controller": controller, "email": email, "error": error, "error_values": values},
        status=status,
    )


@router.get("/privacy/code", response_class=HTMLResponse)
def code_page(request: Request, runtime: Rt) -> Response:
    if forms.PendingSignIn.open(runtime.keys, request.cookies.get(cookie_name(request, PENDING))):
        return _page(request, "code.html", None, "home")
    return redirect(request, "/privacy?done=expired")


@router.post("/privacy/code", response_class=HTMLResponse)
def check_code(request: Request, runtime: Rt, code: Form_ = "", csrf: Form_ = "") -> Response:
    """Check the code; open the session, or say what went wrong."""
    check_csrf(request, csrf, request.cookies.get(cookie_name(request, "csrf")))
    pending = forms.PendingSignIn.open(
        runtime.keys, request.cookies.get(cookie_name(request, PENDING))
    )
    if pending is None:
        return redirect(request, "/privacy?done=expired")
    with runtime.db.transaction() as session:
        # A wrong code is returned, not raised, so that the attempt it used is committed.
        result = runtime.portal.sign_in(
            session, email=pending.email, code=code, language=_language(request)
        )
    if isinstance(result, CodeRejected):
        left = int(str(result.fields.get("attempts_left", 0)))
        response: Response = _page(
            request,
            "code.html",
            None,
            "home",
            {"attempts_left": left, "rejected": True},
            status=400,
        )
        if not left:
            _forget(response, request, PENDING)
        return response
    if isinstance(result, NothingHeld):
        response = _page(request, "nothing_held.html", None, "home", status=404)
        _forget(response, request, PENDING)
        return response
    response = redirect(request, "/privacy/me")
    set_cookie(response, request, SESSION, result.token)
    _forget(response, request, PENDING)
    return response


@router.post("/privacy/sign-out")
def sign_out(request: Request, runtime: Rt, csrf: Form_ = "") -> RedirectResponse:
    with _customer(request, runtime, csrf=csrf, post=True) as (session, signed):
        runtime.portal.sign_out(session, token=signed.token)
    response = redirect(request, "/privacy?done=signed-out")
    _forget(response, request, SESSION)
    return response


# -- my data -------------------------------------------------------------------------------------


@router.get("/privacy/me", response_class=HTMLResponse)
def my_data(request: Request, runtime: Rt) -> Response:
    """Every value held, why, since when, on what basis, for how long, shared with whom; the
    picture of where it goes; who accessed it and why."""
    texts = _texts(request)
    with _customer(request, runtime) as (session, signed):
        loaded = manifest_service.current(session)
        values = runtime.vault.subject_values(
            session, actor=signed.actor, customer_id=signed.customer_id, reason=views.READ_REASON
        )
        verdicts = runtime.consent.verdicts(
            session, customer_id=signed.customer_id, actor=signed.actor
        )
        data = views.my_data(
            session,
            vault_values=values,
            verdicts={k: v.allowed for k, v in verdicts.items()},
            manifest=loaded.manifest,
            customer_id=signed.customer_id,
            texts=texts,
        )
        controller = loaded.manifest.controller
    return _page(request, "me.html", signed, "me", {"data": data, "controller": controller})


# -- consents ------------------------------------------------------------------------------------


@router.get("/privacy/consents", response_class=HTMLResponse)
def consents(request: Request, runtime: Rt) -> Response:
    texts = _texts(request)
    with _customer(request, runtime) as (session, signed):
        manifest = manifest_service.current(session).manifest
        overview = runtime.consent.overview(
            session, customer_id=signed.customer_id, actor=signed.actor
        )
        receipts = runtime.consent.receipts_of(
            session, customer_id=signed.customer_id, actor=signed.actor
        )
    sale = next((i for i in overview.items if i.target == SALE_SHARING), None)
    return _page(
        request,
        "consents.html",
        signed,
        "consents",
        {
            "choices": views.choices(overview, manifest, texts),
            "manifest_seq": overview.manifest_seq,
            "gpc_honoured": overview.gpc_honoured,
            "gpc_since": texts.words.day(sale.since) if sale and sale.since else None,
            "receipts": [(rid, texts.words.moment(at)) for rid, at in reversed(receipts)],
        },
    )


def _manifest_seen(value: str) -> int | None:
    return int(value) if value.isdigit() else None


@router.post("/privacy/consents")
def save_consents(
    request: Request,
    runtime: Rt,
    csrf: Form_ = "",
    given: Strings = None,
    objected: Annotated[list[str] | None, Form(alias="object")] = None,
    sale_opt_out: Form_ = "",
    limit_sensitive: Form_ = "",
    manifest: Form_ = "",
) -> RedirectResponse:
    """Record what the customer changed on the switches: effective at once, with a receipt."""
    with _customer(request, runtime, csrf=csrf, post=True) as (session, signed):
        current: Manifest = manifest_service.current(session).manifest
        states = runtime.consent.states(session, customer_id=signed.customer_id)
        changes = forms.consent_changes(
            current,
            states,
            given=set(given or ()),
            objected=set(objected or ()),
            sale_opt_out=bool(sale_opt_out),
            limit_sensitive=bool(limit_sensitive),
        )
        if changes:
            decided = {c.target: c.state.value for c in changes}
            runtime.consent.record(
                session,
                customer_id=signed.customer_id,
                changes=changes,
                context=_context(request, signed, decided, manifest, "consent-form"),
                actor=signed.actor,
            )
    return redirect(request, f"/privacy/consents?done={'saved' if changes else 'unchanged'}")


def _context(
    request: Request, signed: PortalSignedIn, decided: dict[str, str], seen: str, method: str
) -> ConsentContext:
    return ConsentContext(
        channel="privacy_center",
        method=method,
        language=_language(request),
        # The evidence: a hash of what was decided, by whom, on which notice version.
        evidence=evidence_of(
            "\n".join(
                [str(signed.customer_id), method, seen, json.dumps(decided, sort_keys=True)]
            ).encode()
        ),
        manifest_seq=_manifest_seen(seen),
    )


@router.post("/privacy/consents/all")
def decide_all(
    request: Request, runtime: Rt, csrf: Form_ = "", answer: Form_ = "", manifest: Form_ = ""
) -> RedirectResponse:
    """ "Accept all" and "Refuse all": one form, two buttons of equal weight."""
    with _customer(request, runtime, csrf=csrf, post=True) as (session, signed):
        if answer not in ("given", "refused"):
            return redirect(request, "/privacy/consents")
        runtime.consent.record_all(
            session,
            customer_id=signed.customer_id,
            answer=State(answer),
            context=_context(request, signed, {"*": answer}, manifest, f"{answer}-all"),
            actor=signed.actor,
        )
    done = "accepted-all" if answer == "given" else "refused-all"
    return redirect(request, f"/privacy/consents?done={done}")


@router.get("/privacy/consents/receipts/{receipt_id}")
def download_receipt(receipt_id: str, request: Request, runtime: Rt) -> Response:
    """A signed consent receipt (compact JWS), as a file."""
    with _customer(request, runtime) as (session, signed):
        jws = runtime.consent.receipt(
            session, receipt_id=receipt_id, actor=signed.actor, customer_id=signed.customer_id
        )
    return Response(
        jws,
        media_type="application/jose",
        headers={"Content-Disposition": f'attachment; filename="receipt-{receipt_id}.jws"'},
    )


# -- rights --------------------------------------------------------------------------------------


@router.get("/privacy/rights", response_class=HTMLResponse)
def rights(request: Request, runtime: Rt) -> Response:
    with _customer(request, runtime) as (session, signed):
        states = runtime.consent.states(session, customer_id=signed.customer_id)
    sale = states.get(SALE_SHARING)
    opted_out = sale is not None and sale.state == State.REFUSED
    return _page(request, "rights.html", signed, "rights", {"opted_out": opted_out})


def _request_signed_in(
    request: Request,
    runtime: Runtime,
    session: Session,
    signed: PortalSignedIn,
    kind: str,
    details: dict[str, Any] | None = None,
) -> RequestView:
    """A rights request from the signed-in customer, whose sign-in proved their address."""
    return runtime.rights.submit_verified(
        session,
        kind=kind,
        email=runtime.portal.contact(session, token=signed.token),
        customer_id=signed.customer_id,
        actor=signed.actor,
        language=_language(request),
        details=details,
    )


@router.post("/privacy/rights/download")
def download_data(request: Request, runtime: Rt, csrf: Form_ = "") -> Response:
    """An access request, answered at once: the ZIP of everything held, for this customer."""
    language = _language(request)
    with _customer(request, runtime, csrf=csrf, post=True) as (session, signed):
        view = _request_signed_in(request, runtime, session, signed, "access")
        archive = build_export(
            session,
            runtime=runtime,
            actor=signed.actor,
            customer_id=signed.customer_id,
            language=language,
            reason="rights.access",
        )
        runtime.rights.record_download(
            session, request_id=view.id, actor=signed.actor, sha256=archive.sha256
        )
    return Response(
        archive.content,
        media_type=archive.media_type,
        headers={"Content-Disposition": f'attachment; filename="{archive.filename}"'},
    )


def _correctable(manifest: Manifest, held: list[str]) -> list[tuple[str, str]]:
    return [(f.name, f.name) for f in manifest.fields if f.name in held and f.type in CORRECTABLE]


def _correct_page(
    request: Request,
    runtime: Rt,
    signed: PortalSignedIn,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
) -> HTMLResponse:
    texts = _texts(request)
    with runtime.db.read() as session:
        manifest = manifest_service.current(session).manifest
        held, _, _ = views.present_fields(session, signed.customer_id)
    fields = [
        (name, views.field_label(texts.gettext, name)) for name, _ in _correctable(manifest, held)
    ]
    return _page(
        request,
        "correct.html",
        signed,
        "rights",
        {"fields": fields, "values": values or {}, "errors": errors or {}},
        status=422 if errors else 200,
    )


@router.get("/privacy/rights/correct", response_class=HTMLResponse)
def correct_form(request: Request, runtime: Rt) -> Response:
    with _customer(request, runtime) as (_, signed):
        pass
    return _correct_page(request, runtime, signed)


@router.post("/privacy/rights/correct", response_class=HTMLResponse)
def correct(
    request: Request,
    runtime: Rt,
    csrf: Form_ = "",
    field: Form_ = "",
    value: Form_ = "",
    note: Form_ = "",
) -> Response:
    """A rectification request: verified by the session, carried out by staff."""
    typed = {"field": field, "value": value, "note": note}
    errors: dict[str, str] = {}
    signed: PortalSignedIn | None = None
    try:
        with _customer(request, runtime, csrf=csrf, post=True) as (session, signed):
            manifest = manifest_service.current(session).manifest
            held, _, _ = views.present_fields(session, signed.customer_id)
            if field not in dict(_correctable(manifest, held)):
                errors["field"] = N_("Choose the data to correct.")
            if not value.strip():
                errors["value"] = N_("Write the correct value.")
            if len(note) > 2000:
                errors["note"] = N_("The note is at most 2,000 characters.")
            if not errors:
                details: dict[str, Any] = {"values": {field: value.strip()}}
                if note.strip():
                    details["note"] = note.strip()
                _request_signed_in(
                    request, runtime, session, signed, "rectification", details=details
                )
    except (InvalidFieldValue, InvalidRequestDetails):
        errors["value"] = N_("This value does not fit this data: check how it is written.")
    if errors:
        assert signed is not None
        return _correct_page(request, runtime, signed, values=typed, errors=errors)
    return redirect(request, "/privacy/requests?done=rectification")


@router.get("/privacy/rights/erase", response_class=HTMLResponse)
def erase_page(request: Request, runtime: Rt) -> Response:
    """Exactly what an erasure removes, and what the law makes us keep, until when and why."""
    texts = _texts(request)
    with _customer(request, runtime) as (session, signed):
        manifest = manifest_service.current(session).manifest
        present, created, ended = views.present_fields(session, signed.customer_id)
        plan = views.erasure_plan(
            manifest, present=present, created_at=created, texts=texts, contract_ended_at=ended
        )
        pending = [
            v
            for v in runtime.rights.past_requests(session, customer_pid=str(signed.customer_id))
            if v.kind == "erasure" and v.closed_at is None
        ]
    return _page(
        request,
        "erase.html",
        signed,
        "rights",
        {"plan": plan, "pending": views.requests(pending, texts)},
    )


@router.post("/privacy/rights/erase")
def erase(request: Request, runtime: Rt, csrf: Form_ = "") -> RedirectResponse:
    with _customer(request, runtime, csrf=csrf, post=True) as (session, signed):
        _request_signed_in(request, runtime, session, signed, "erasure")
    return redirect(request, "/privacy/requests?done=erasure")


@router.post("/privacy/rights/opt-out")
def opt_out(request: Request, runtime: Rt, csrf: Form_ = "") -> RedirectResponse:
    """Opt out of sale/sharing as a rights request: it takes effect at once."""
    with _customer(request, runtime, csrf=csrf, post=True) as (session, signed):
        _request_signed_in(request, runtime, session, signed, "opt_out_sale")
    return redirect(request, "/privacy/requests?done=opted-out")


@router.get("/privacy/requests", response_class=HTMLResponse)
def requests_page(request: Request, runtime: Rt) -> Response:
    texts = _texts(request)
    with _customer(request, runtime) as (session, signed):
        past = runtime.rights.past_requests(session, customer_pid=str(signed.customer_id))
    return _page(
        request, "requests.html", signed, "requests", {"rows": views.requests(past, texts)}
    )


# -- complaint and survey ------------------------------------------------------------------------


@router.get("/privacy/complaint", response_class=HTMLResponse)
def complaint_form(request: Request, runtime: Rt) -> Response:
    signed = _maybe_customer(request, runtime)
    return _page(
        request, "complaint.html", signed, "complaint", {"topics": TOPIC_LABELS, "values": {}}
    )


@router.post("/privacy/complaint", response_class=HTMLResponse)
def complain(
    request: Request, runtime: Rt, csrf: Form_ = "", topic: Form_ = "", text: Form_ = ""
) -> Response:
    """Signed in or not: a complaint is stored sealed, for staff to answer."""
    signed = _maybe_customer(request, runtime)
    expected = signed.csrf_token if signed else request.cookies.get(cookie_name(request, "csrf"))
    check_csrf(request, csrf, expected)
    errors: dict[str, str] = {}
    if topic not in TOPICS:
        errors["topic"] = N_("Choose what your complaint is about.")
    if not text.strip():
        errors["text"] = N_("Write your complaint.")
    elif len(text.strip()) > 5000:
        errors["text"] = N_("Your complaint is at most 5,000 characters.")
    number = 0
    if not errors:
        try:
            with runtime.db.transaction() as session:
                number = runtime.portal.complain(
                    session, signed=signed, topic=topic, text=text, language=_language(request)
                )
        except FeedbackInvalid as exc:
            name = str(exc.fields.get("field", "text"))
            errors[name] = N_("Please check this answer.")
    if errors:
        return _page(
            request,
            "complaint.html",
            signed,
            "complaint",
            {"topics": TOPIC_LABELS, "values": {"topic": topic, "text": text}, "errors": errors},
            status=422,
        )
    return _page(request, "complaint_done.html", signed, "complaint", {"number": number})


@router.get("/privacy/survey", response_class=HTMLResponse)
def survey_form(request: Request, runtime: Rt) -> Response:
    with _customer(request, runtime) as (_, signed):
        pass
    return _page(
        request, "survey.html", signed, "survey", {"questions": SURVEY_QUESTIONS, "values": {}}
    )


def _score(value: str) -> int | None:
    return int(value) if value in ("1", "2", "3", "4", "5") else None


@router.post("/privacy/survey", response_class=HTMLResponse)
def answer_survey(
    request: Request,
    runtime: Rt,
    csrf: Form_ = "",
    trust: Form_ = "",
    clarity: Form_ = "",
    control: Form_ = "",
    comment: Form_ = "",
) -> Response:
    typed = {"trust": trust, "clarity": clarity, "control": control, "comment": comment}
    scores = {name: _score(typed[name]) for name, _ in SURVEY_QUESTIONS}
    errors = {
        name: N_("Choose a score from 1 to 5.") for name, score in scores.items() if score is None
    }
    if len(comment.strip()) > 2000:
        errors["comment"] = N_("The comment is at most 2,000 characters.")
    with _customer(request, runtime, csrf=csrf, post=True) as (session, signed):
        if not errors:
            runtime.portal.answer_survey(
                session,
                signed=signed,
                trust=scores["trust"] or 0,
                clarity=scores["clarity"] or 0,
                control=scores["control"] or 0,
                comment=comment,
                language=_language(request),
            )
    if errors:
        return _page(
            request,
            "survey.html",
            signed,
            "survey",
            {"questions": SURVEY_QUESTIONS, "values": typed, "errors": errors},
            status=422,
        )
    return _page(request, "survey_done.html", signed, "survey")
