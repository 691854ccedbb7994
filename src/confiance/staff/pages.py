"""The staff console's pages (``/console``).

An adapter like the API routes: each page reads the staff session from its cookie, calls a
service verb with the member of staff's :class:`~confiance.actors.Actor` (the services check
the role's scopes and purposes), and renders a template. The menu shows only what the role may
open; a page it may not open answers 403, whatever the menu shows.

- Sign-in takes two steps: ``/console/login`` (address and password) opens a session at the
  ``password`` stage, which opens nothing but ``/console/totp`` (enrolment with a QR code the
  first time, then a code). Only a ``full`` session opens the console.
- Every form posts a CSRF token: the session's own once signed in, a cookie's before; a post
  from another site is refused (:func:`confiance.web.security.check_csrf`).
- Personal data never travels in a URL: the customer look-up and the audit search are posts.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any

from babel.dates import format_date, format_datetime
from fastapi import APIRouter, Depends, Form, Query, Request
from markupsafe import Markup
from starlette.responses import HTMLResponse, RedirectResponse, Response

from confiance import clock
from confiance.audit import search as audit_search
from confiance.audit.errors import AuditChainBroken
from confiance.errors import ConfianceError, NotFound, PermissionDenied
from confiance.rights.errors import RequestNotFound
from confiance.rights.service import OPEN, RequestKind, RequestStatus
from confiance.runtime import Runtime
from confiance.staff import console
from confiance.staff.errors import (
    AccountLocked,
    InvalidPassword,
    SessionExpired,
    StaffNotFound,
    WeakPassword,
)
from confiance.staff.roles import Role
from confiance.staff.service import SignedIn, new_password
from confiance.vault.errors import PurposeNotGranted
from confiance.web import charts, i18n
from confiance.web.deps import Rt
from confiance.web.pages import redirect, render
from confiance.web.security import check_csrf, cookie_name, form_token, set_cookie

__all__ = ["console_session", "router"]

router = APIRouter(include_in_schema=False)

STAFF_COOKIE = "staff"
FormText = Annotated[str, Form()]


# -- sessions -----------------------------------------------------------------------------------
def _token(request: Request) -> str:
    return request.cookies.get(cookie_name(request, STAFF_COOKIE), "")


def console_session(request: Request, rt: Rt) -> SignedIn:
    """The signed-in member of staff, or :class:`SessionExpired` (sent to the sign-in page).
    A session that has only given its password opens nothing here."""
    with rt.db.transaction() as session:
        signed = rt.staff.current(session, token=_token(request))
    if not signed.complete:
        raise SessionExpired()
    return signed


Staff = Annotated[SignedIn, Depends(console_session)]


@contextmanager
def _as_staff() -> Iterator[None]:
    """A refusal of the services, worded for a member of staff (not for an API key)."""
    try:
        yield
    except (PermissionDenied, PurposeNotGranted) as exc:
        if isinstance(exc, console.ConsoleForbidden):
            raise
        raise console.ConsoleForbidden() from exc


def _gettext(request: Request) -> Any:
    return i18n.translations(i18n.language_of(request)).gettext


def _context(request: Request, signed: SignedIn, active: str, **values: Any) -> dict[str, Any]:
    language = i18n.language_of(request)

    def when(moment: datetime | None) -> str:
        if moment is None:
            return ""
        return format_datetime(moment, "d MMM y HH:mm", tzinfo=UTC, locale=language) + " UTC"

    def day(moment: datetime | date | None) -> str:
        if moment is None:
            return ""
        if isinstance(moment, datetime):
            moment = moment.astimezone(UTC).date()
        return format_date(moment, "d MMM y", locale=language)

    return {
        "staff": signed.user,
        "actor": signed.actor,
        "csrf": signed.csrf_token,
        "nav": console.navigation(signed.actor),
        "active": active,
        "when": when,
        "day": day,
        "show": _show,
        "role_label": console.ROLE_LABELS,
        "status_label": console.STATUS_LABELS,
        "kind_label": console.KIND_LABELS,
        "standing_label": console.STANDING_LABELS,
        **values,
    }


def _show(value: Any) -> str:
    """A value as text: lists and objects as compact JSON (escaped by the template)."""
    if value is None:
        return ""
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False, separators=(", ", ": "), default=str)
    return str(value)


def _done(request: Request) -> str | None:
    label = console.DONE_LABELS.get(request.query_params.get("done", ""))
    return _gettext(request)(label) if label else None


# -- sign-in ------------------------------------------------------------------------------------
def _sign_in_error(request: Request, error: ConfianceError) -> str:
    _ = _gettext(request)
    if isinstance(error, AccountLocked):
        seconds = int(error.fields.get("retry_after_seconds", 60))
        minutes = max(1, (seconds + 59) // 60)
        return str(
            _(
                "Too many failed attempts: try again in %(minutes)s minutes, "
                "or ask an administrator."
            )
            % {"minutes": minutes}
        )
    return str(_("The address, the password or the code is wrong."))


def _login_page(
    request: Request, *, error: str | None = None, email: str = "", status: int = 200
) -> HTMLResponse:
    _ = _gettext(request)
    notice = None
    if request.query_params.get("done") == "password":
        notice = _("Your password is changed: sign in with the new one.")
    return render(
        request,
        "console/login.html",
        {"csrf": form_token(request), "error": error, "email": email, "notice": notice},
        status=status,
    )


@router.get("/console/login", response_class=HTMLResponse)
def login_form(request: Request, rt: Rt) -> Response:
    token = _token(request)
    if token:
        with rt.db.transaction() as session:
            try:
                if rt.staff.current(session, token=token, touch=False).complete:
                    return redirect(request, "/console")
            except SessionExpired:
                pass
    return _login_page(request)


@router.post("/console/login", response_class=HTMLResponse)
def login(
    request: Request,
    rt: Rt,
    email: FormText = "",
    password: FormText = "",
    csrf: FormText = "",
) -> Response:
    check_csrf(request, csrf, request.cookies.get(cookie_name(request, "csrf")))
    with rt.db.transaction() as session:
        result = rt.staff.sign_in(session, email=email, password=password)
    # A failure is shown once committed: it counts towards the lock.
    if not isinstance(result, SignedIn):
        return _login_page(
            request, error=_sign_in_error(request, result), email=email, status=result.status
        )
    response = redirect(request, "/console/totp")
    set_cookie(response, request, STAFF_COOKIE, result.token)
    return response


def _qr_markup(svg: str, label: str) -> Markup:
    """segno's SVG, named for assistive technology (it has no ``style`` attribute, so the
    Content Security Policy lets it through inline)."""
    named = svg.replace("<svg ", f'<svg role="img" aria-label="{Markup.escape(label)}" ', 1)
    return Markup(named)  # noqa: S704 - segno's own markup, the label escaped above


def _totp_page(
    request: Request, rt: Rt, *, error: str | None = None, status: int = 200
) -> Response:
    with rt.db.transaction() as session:
        signed = rt.staff.current(session, token=_token(request))
        if signed.complete:
            return redirect(request, "/console")
        secret = qr = None
        if not signed.user.enrolled:
            secret, qr = rt.staff.enrolment(session, signed=signed)
    _ = _gettext(request)
    return render(
        request,
        "console/totp.html",
        {
            "csrf": signed.csrf_token,
            "error": error,
            "enrolling": secret is not None,
            "secret": " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))
            if secret
            else None,
            "qr": _qr_markup(qr, _("QR code to scan with an authenticator app")) if qr else None,
        },
        status=status,
    )


@router.get("/console/totp", response_class=HTMLResponse)
def totp_form(request: Request, rt: Rt) -> Response:
    return _totp_page(request, rt)


@router.post("/console/totp", response_class=HTMLResponse)
def totp(request: Request, rt: Rt, code: FormText = "", csrf: FormText = "") -> Response:
    with rt.db.transaction() as session:
        pending = rt.staff.current(session, token=_token(request), touch=False)
    check_csrf(request, csrf, pending.csrf_token)
    with rt.db.transaction() as session:
        result = rt.staff.verify_totp(session, token=pending.token, code=code)
    if not isinstance(result, SignedIn):
        return _totp_page(request, rt, error=_sign_in_error(request, result), status=result.status)
    response = redirect(request, "/console")
    set_cookie(response, request, STAFF_COOKIE, result.token)
    return response


@router.post("/console/logout")
def logout(request: Request, rt: Rt, csrf: FormText = "") -> Response:
    token = _token(request)
    with rt.db.transaction() as session:
        signed = rt.staff.current(session, token=token, touch=False)
    check_csrf(request, csrf, signed.csrf_token)
    with rt.db.transaction() as session:
        rt.staff.sign_out(session, token=token)
    response = redirect(request, "/console/login")
    response.delete_cookie(
        cookie_name(request, STAFF_COOKIE),
        path="/",
        secure=request.url.scheme == "https",
        httponly=True,
        samesite="strict",
    )
    return response


@router.get("/console/password", response_class=HTMLResponse)
def password_form(request: Request, signed: Staff) -> HTMLResponse:
    return render(request, "console/password.html", _context(request, signed, "password"))


@router.post("/console/password", response_class=HTMLResponse)
def change_password(
    request: Request,
    rt: Rt,
    signed: Staff,
    current: FormText = "",
    new: FormText = "",
    confirm: FormText = "",
    csrf: FormText = "",
) -> Response:
    check_csrf(request, csrf, signed.csrf_token)
    _ = _gettext(request)
    error: str | None = None
    if new != confirm:
        error = _("The two new passwords differ.")
    else:
        try:
            with rt.db.transaction() as session:
                rt.staff.change_password(session, user_id=signed.user.id, current=current, new=new)
        except (WeakPassword, InvalidPassword) as exc:
            error = _(exc.detail)
    if error is not None:
        return render(
            request,
            "console/password.html",
            _context(request, signed, "password", error=error),
            status=422,
        )
    # Every session of the account ended with the change, this one too.
    return redirect(request, "/console/login?done=password")


# -- home ---------------------------------------------------------------------------------------
@router.get("/console", response_class=HTMLResponse)
def home(request: Request, rt: Rt, signed: Staff) -> HTMLResponse:
    counts: dict[str, int] = {}
    if signed.actor.may("rights.read"):
        with _as_staff(), rt.unit(signed.actor) as session:
            for standing in ("overdue", "due_soon"):
                counts[standing] = len(
                    rt.rights.queue(session, actor=signed.actor, standing=standing, limit=1000)
                )
    return render(request, "console/home.html", _context(request, signed, "", counts=counts))


# -- rights requests ----------------------------------------------------------------------------
@router.get("/console/requests", response_class=HTMLResponse)
def requests_queue(
    request: Request,
    rt: Rt,
    signed: Staff,
    status: Annotated[str, Query()] = "open",
    kind: Annotated[str, Query()] = "",
    standing: Annotated[str, Query()] = "",
) -> HTMLResponse:
    statuses: list[str] | None
    if status == "all":
        statuses = [s.value for s in RequestStatus]
    elif status in {s.value for s in RequestStatus}:
        statuses = [status]
    else:
        status, statuses = "open", [s.value for s in OPEN]
    kind = kind if kind in {k.value for k in RequestKind} else ""
    standing = standing if standing in console.STANDING_LABELS else ""
    with _as_staff(), rt.unit(signed.actor) as session:
        found = rt.rights.queue(
            session,
            actor=signed.actor,
            status=statuses,
            kind=kind or None,
            standing=standing or None,
            limit=500,
        )
    return render(
        request,
        "console/requests.html",
        _context(
            request,
            signed,
            "/console/requests",
            requests=found,
            chosen={"status": status, "kind": kind, "standing": standing},
        ),
    )


def _request_id(raw: str) -> uuid.UUID:
    try:
        return uuid.UUID(raw)
    except ValueError:
        raise RequestNotFound() from None


def _request_page(
    request: Request,
    rt: Runtime,
    signed: SignedIn,
    request_id: uuid.UUID,
    *,
    error: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    with _as_staff(), rt.unit(signed.actor) as session:
        view = rt.rights.get(session, request_id=request_id, actor=signed.actor)
    return render(
        request,
        "console/request.html",
        _context(
            request,
            signed,
            "/console/requests",
            req=view,
            error=error,
            notice=_done(request),
            is_open=view.status in {s.value for s in OPEN},
            may_manage=signed.actor.may("rights.manage"),
        ),
        status=status,
    )


@router.get("/console/requests/{request_id}", response_class=HTMLResponse)
def request_detail(request: Request, rt: Rt, signed: Staff, request_id: str) -> HTMLResponse:
    return _request_page(request, rt, signed, _request_id(request_id))


_ACTIONS = ("assign", "verify", "approve", "refuse", "extend", "lift")


@router.post("/console/requests/{request_id}/{action}", response_class=HTMLResponse)
def request_action(
    request: Request,
    rt: Rt,
    signed: Staff,
    request_id: str,
    action: str,
    csrf: FormText = "",
    note: FormText = "",
    reason: FormText = "",
    assignee: FormText = "",
    accept_failed_connectors: FormText = "",
) -> Response:
    check_csrf(request, csrf, signed.csrf_token)
    rid = _request_id(request_id)
    if action not in _ACTIONS:
        raise NotFound("No such action on a request.")
    actor = signed.actor
    desk = rt.rights
    try:
        with _as_staff(), rt.unit(actor) as session:
            if action == "assign":
                desk.assign(session, request_id=rid, assignee=assignee, actor=actor)
            elif action == "verify":
                desk.staff_verify(session, request_id=rid, actor=actor, note=note)
            elif action == "approve":
                desk.approve(
                    session,
                    request_id=rid,
                    actor=actor,
                    accept_failed_connectors=accept_failed_connectors == "yes",
                )
            elif action == "refuse":
                desk.refuse(session, request_id=rid, reason=reason, actor=actor)
            elif action == "extend":
                desk.extend(session, request_id=rid, reason=reason, actor=actor)
            else:
                desk.lift_restriction(session, request_id=rid, actor=actor, reason=reason)
    except ConfianceError as exc:
        if exc.status >= 500 or exc.status in (401, 403, 404):
            raise
        # Nothing was changed (the transaction rolled back): the page says why.
        _ = _gettext(request)
        message = f"{_(exc.title)}: {_(exc.detail)}"
        return _request_page(request, rt, signed, rid, error=message, status=exc.status)
    return redirect(request, f"/console/requests/{rid}?done={action}")


# -- customer look-up ---------------------------------------------------------------------------
def _lookup_page(
    request: Request,
    rt: Runtime,
    signed: SignedIn,
    *,
    results: list[Any] | None = None,
    purpose: str = "",
    error: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    with _as_staff(), rt.db.read() as session:
        form = console.lookup_form(session, actor=signed.actor)
    return render(
        request,
        "console/customers.html",
        _context(
            request,
            signed,
            "/console/customers",
            purposes=form.purposes,
            purpose=purpose if purpose in form.purposes else form.purposes[0],
            results=results,
            error=error,
            masked=signed.actor.masked,
        ),
        status=status,
    )


@router.get("/console/customers", response_class=HTMLResponse)
def customers_form(request: Request, rt: Rt, signed: Staff) -> HTMLResponse:
    return _lookup_page(request, rt, signed)


@router.post("/console/customers", response_class=HTMLResponse)
def customers_lookup(
    request: Request,
    rt: Rt,
    signed: Staff,
    email: FormText = "",
    purpose: FormText = "",
    csrf: FormText = "",
) -> HTMLResponse:
    check_csrf(request, csrf, signed.csrf_token)
    try:
        with _as_staff(), rt.unit(signed.actor) as session:
            form = console.lookup_form(session, actor=signed.actor)
            results = console.look_up(
                session,
                vault=rt.vault,
                actor=signed.actor,
                purpose=purpose,
                field_name=form.field,
                value=email,
            )
    except ConfianceError as exc:
        if exc.status >= 500 or exc.status in (401, 403):
            raise
        _ = _gettext(request)
        return _lookup_page(
            request,
            rt,
            signed,
            purpose=purpose,
            error=_("No look-up could be made: check the address."),
            status=exc.status,
        )
    return _lookup_page(request, rt, signed, results=results, purpose=purpose)


# -- consent analytics --------------------------------------------------------------------------
@router.get("/console/analytics", response_class=HTMLResponse)
def analytics(
    request: Request, rt: Rt, signed: Staff, days: Annotated[int, Query()] = 30
) -> HTMLResponse:
    days = days if days in (7, 30, 90) else 30
    until = clock.now().date()
    since = until - timedelta(days=days - 1)
    with _as_staff(), rt.unit(signed.actor) as session:
        signed.actor.require("analytics")
        counts = rt.consent.daily_counts(session, since=since, until=until, actor=signed.actor)
        survey = rt.portal.survey_summary(session, actor=signed.actor)
    rates = console.consent_rates(counts, since=since, until=until)
    _ = _gettext(request)
    language = i18n.language_of(request)
    labels = [format_date(d, "d MMM", locale=language) for d in rates.days]
    opt_in_chart = withdrawal_chart = totals_chart = None
    if rates.targets:
        opt_in_chart = charts.line_chart(
            ident="opt-in",
            title=_("Opt-in rate per purpose"),
            description=_(
                "Share of the decisions of each day that said yes, per purpose, "
                "from %(first)s to %(last)s; the table below gives every figure."
            )
            % {"first": labels[0], "last": labels[-1]},
            labels=labels,
            series=[charts.Series(t, rates.opt_in[t]) for t in rates.targets],
            y_max=1.0,
            y_format=charts.percent,
        )
        peak = max((v for t in rates.targets for v in rates.withdrawal[t] if v), default=0.0)
        withdrawal_chart = charts.line_chart(
            ident="withdrawal",
            title=_("Withdrawal rate per purpose"),
            description=_(
                "Withdrawals for every consent given that day, per purpose; above 100 % "
                "more people left than joined. The table below gives every figure."
            ),
            labels=labels,
            series=[charts.Series(t, rates.withdrawal[t]) for t in rates.targets],
            y_max=max(1.0, peak),
            y_format=charts.percent,
        )
        totals_chart = charts.bar_chart(
            ident="totals",
            title=_("Decisions per purpose over the period"),
            description=_("Consents given, refusals and withdrawals per purpose."),
            labels=rates.targets,
            series=[
                charts.Series(_("Given"), [float(rates.totals[t][0]) for t in rates.targets]),
                charts.Series(_("Refused"), [float(rates.totals[t][1]) for t in rates.targets]),
                charts.Series(_("Withdrawn"), [float(rates.totals[t][2]) for t in rates.targets]),
            ],
        )
    return render(
        request,
        "console/analytics.html",
        _context(
            request,
            signed,
            "/console/analytics",
            days=days,
            rates=rates,
            day_labels=labels,
            opt_in_chart=opt_in_chart,
            withdrawal_chart=withdrawal_chart,
            totals_chart=totals_chart,
            survey=survey,
            pct=lambda v: "" if v is None else charts.percent(v),
        ),
    )


# -- data map and manifest ----------------------------------------------------------------------
@router.get("/console/data-map", response_class=HTMLResponse)
def data_map(request: Request, rt: Rt, signed: Staff) -> HTMLResponse:
    with _as_staff(), rt.db.read() as session:
        graph = console.data_map(session, actor=signed.actor)
    _ = _gettext(request)
    picture = charts.flow_diagram(
        ident="data-map",
        title=_("Data map"),
        description=_(
            "Categories of data, the fields in each, the purposes that use each field and the "
            "recipients each purpose shares data with; the tables below say the same."
        ),
        headings=[_("Categories"), _("Fields"), _("Purposes"), _("Recipients")],
        columns=[graph.categories, graph.fields, graph.purposes, graph.recipients],
        links=graph.links,
    )
    used_by = {
        spec.name: [p.key for p in graph.manifest.purposes if spec.name in p.fields]
        for spec in graph.manifest.fields
    }
    shared_by = {
        name: [p for p in graph.manifest.purposes if any(r.name == name for r in p.recipients)]
        for name in graph.recipients
    }
    return render(
        request,
        "console/data_map.html",
        _context(
            request,
            signed,
            "/console/data-map",
            graph=graph,
            picture=picture,
            used_by=used_by,
            shared_by=shared_by,
        ),
    )


@router.get("/console/manifest", response_class=HTMLResponse)
def manifest_versions(request: Request, rt: Rt, signed: Staff) -> HTMLResponse:
    with _as_staff(), rt.db.read() as session:
        versions = console.manifest_history(session, actor=signed.actor)
    return render(
        request,
        "console/manifest.html",
        _context(request, signed, "/console/manifest", versions=versions),
    )


# -- audit ------------------------------------------------------------------------------------
def _parse_day(raw: str) -> date | None:
    raw = raw.strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise audit_search.InvalidAuditSearch("a day is written YYYY-MM-DD") from None


def _audit_page(request: Request, signed: SignedIn, **values: Any) -> HTMLResponse:
    signed.actor.require("audit.read")
    status = int(values.pop("status", 200))
    filters = values.pop("filters", None) or audit_search.AuditFilters()
    return render(
        request,
        "console/audit.html",
        _context(request, signed, "/console/audit", filters=filters, **values),
        status=status,
    )


@router.get("/console/audit", response_class=HTMLResponse)
def audit_form(request: Request, signed: Staff) -> HTMLResponse:
    with _as_staff():
        return _audit_page(request, signed)


@router.post("/console/audit", response_class=HTMLResponse)
def audit_results(
    request: Request,
    rt: Rt,
    signed: Staff,
    customer_pid: FormText = "",
    actor: FormText = "",
    action: FormText = "",
    since: FormText = "",
    until: FormText = "",
    page: FormText = "1",
    csrf: FormText = "",
) -> HTMLResponse:
    check_csrf(request, csrf, signed.csrf_token)
    with _as_staff():
        try:
            filters = audit_search.AuditFilters(
                customer_pid=customer_pid,
                actor=actor,
                action=action,
                since=_parse_day(since),
                until=_parse_day(until),
            )
            with rt.unit(signed.actor) as session:
                found = audit_search.search(
                    session,
                    audit=rt.audit,
                    actor=signed.actor,
                    filters=filters,
                    page=int(page) if page.isdigit() else 1,
                )
        except audit_search.InvalidAuditSearch as exc:
            return _audit_page(
                request, signed, error=_gettext(request)(exc.detail), status=exc.status
            )
        return _audit_page(request, signed, filters=filters, found=found)


@router.post("/console/audit/verify", response_class=HTMLResponse)
def audit_verify(request: Request, rt: Rt, signed: Staff, csrf: FormText = "") -> HTMLResponse:
    check_csrf(request, csrf, signed.csrf_token)
    with _as_staff():
        try:
            report = audit_search.verify(rt.db, audit=rt.audit, actor=signed.actor)
        except AuditChainBroken as exc:
            return _audit_page(request, signed, broken=exc)
        return _audit_page(request, signed, verified=report)


# -- webhooks, complaints -----------------------------------------------------------------------
@router.get("/console/webhooks", response_class=HTMLResponse)
def webhooks(request: Request, rt: Rt, signed: Staff) -> HTMLResponse:
    with _as_staff(), rt.db.read() as session:
        log = console.delivery_log(session, actor=signed.actor, limit=200)
    return render(
        request,
        "console/webhooks.html",
        _context(request, signed, "/console/webhooks", deliveries=log),
    )


@router.get("/console/complaints", response_class=HTMLResponse)
def complaints(request: Request, rt: Rt, signed: Staff) -> HTMLResponse:
    with _as_staff(), rt.unit(signed.actor) as session:
        found = rt.portal.complaints(session, actor=signed.actor)
        survey = rt.portal.survey_summary(session, actor=signed.actor)
    return render(
        request,
        "console/complaints.html",
        _context(
            request,
            signed,
            "/console/complaints",
            complaints=found,
            survey=survey,
            notice=_done(request),
        ),
    )


@router.post("/console/complaints/{complaint_id}/handled")
def complaint_handled(
    request: Request, rt: Rt, signed: Staff, complaint_id: int, csrf: FormText = ""
) -> RedirectResponse:
    """Mark a complaint as handled."""
    check_csrf(request, csrf, signed.csrf_token)
    with _as_staff(), rt.db.transaction() as session:
        rt.portal.close_complaint(session, complaint_id=complaint_id, actor=signed.actor)
    return redirect(request, "/console/complaints?done=handled")


# -- staff accounts -----------------------------------------------------------------------------
def _accounts_page(
    request: Request,
    rt: Runtime,
    signed: SignedIn,
    *,
    created: dict[str, str] | None = None,
    error: str | None = None,
    form: dict[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    with _as_staff(), rt.db.read() as session:
        accounts = rt.staff.list(session, actor=signed.actor)
    return render(
        request,
        "console/accounts.html",
        _context(
            request,
            signed,
            "/console/accounts",
            accounts=accounts,
            roles=[r.value for r in Role],
            created=created,
            error=error,
            form=form or {},
            notice=_done(request),
            now=clock.now(),
        ),
        status=status,
    )


@router.get("/console/accounts", response_class=HTMLResponse)
def accounts(request: Request, rt: Rt, signed: Staff) -> HTMLResponse:
    return _accounts_page(request, rt, signed)


@router.post("/console/accounts", response_class=HTMLResponse)
def create_account(
    request: Request,
    rt: Rt,
    signed: Staff,
    email: FormText = "",
    display_name: FormText = "",
    role: FormText = "",
    csrf: FormText = "",
) -> HTMLResponse:
    check_csrf(request, csrf, signed.csrf_token)
    password = new_password()
    try:
        with _as_staff(), rt.db.transaction() as session:
            made = rt.staff.create(
                session,
                email=email,
                display_name=display_name,
                role=role,
                password=password,
                actor=signed.actor,
            )
    except ConfianceError as exc:
        if exc.status >= 500 or exc.status in (401, 403):
            raise
        _ = _gettext(request)
        return _accounts_page(
            request,
            rt,
            signed,
            error=f"{_(exc.title)}: {_(exc.detail)}",
            form={"email": email, "display_name": display_name, "role": role},
            status=exc.status,
        )
    # The password is shown once, on this page, and nowhere else.
    return _accounts_page(request, rt, signed, created={"email": made.email, "password": password})


def _account_id(raw: str) -> uuid.UUID:
    try:
        return uuid.UUID(raw)
    except ValueError:
        raise StaffNotFound() from None


@router.post("/console/accounts/{account_id}/{action}")
def account_action(
    request: Request,
    rt: Rt,
    signed: Staff,
    account_id: str,
    action: str,
    csrf: FormText = "",
    role: FormText = "",
) -> RedirectResponse:
    check_csrf(request, csrf, signed.csrf_token)
    user_id = _account_id(account_id)
    with _as_staff(), rt.db.transaction() as session:
        if action == "disable":
            rt.staff.disable(session, user_id=user_id, actor=signed.actor)
            done = "disabled"
        elif action == "reset-mfa":
            rt.staff.reset_mfa(session, user_id=user_id, actor=signed.actor)
            done = "mfa"
        elif action == "role":
            rt.staff.set_role(session, user_id=user_id, role=role, actor=signed.actor)
            done = "role"
        else:
            raise NotFound("No such action on an account.")
    return redirect(request, f"/console/accounts?done={done}")
