"""What the staff console shows, computed from the services, with the role's checks.

The pages (:mod:`confiance.staff.pages`) are thin: they read the session, call one verb here
or in a domain service with the member of staff's :class:`~confiance.actors.Actor`, and render
a template. The verbs here cover the services that take no actor (the manifest's versions, the
webhook delivery log) and shape what the console draws (the data map, the consent rates); each
checks the scope first, like every service verb does.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy.orm import Session

from confiance.actors import Actor
from confiance.consent.service import DailyCount
from confiance.errors import PermissionDenied
from confiance.manifest import service as manifest_service
from confiance.manifest.schemas import FieldType, Manifest
from confiance.vault.service import CustomerView, Vault
from confiance.webhooks import service as webhooks_service

__all__ = [
    "NAV",
    "ConsentRates",
    "ConsoleForbidden",
    "DataMap",
    "LookupForm",
    "NavItem",
    "consent_rates",
    "data_map",
    "delivery_log",
    "look_up",
    "lookup_form",
    "manifest_history",
    "navigation",
]


def N_(message: str) -> str:
    """Marks a text for the catalogs; the template translates it when it shows it."""
    return message


class ConsoleForbidden(PermissionDenied):
    """A page the member of staff's role does not open (the service said no)."""

    code = "console-forbidden"
    title = "Not allowed for your role"

    def __init__(self) -> None:
        super().__init__(
            "Your role does not give access to this page; ask an administrator if you need it."
        )


@dataclass(frozen=True, slots=True)
class NavItem:
    path: str
    label: str
    scope: str


#: The console's pages, in menu order, with the scope each needs.
NAV: tuple[NavItem, ...] = (
    NavItem("/console/requests", N_("Rights requests"), "rights.read"),
    NavItem("/console/customers", N_("Customer look-up"), "customers.lookup"),
    NavItem("/console/analytics", N_("Consent analytics"), "analytics"),
    NavItem("/console/data-map", N_("Data map"), "manifest.read"),
    NavItem("/console/manifest", N_("Manifest versions"), "manifest.read"),
    NavItem("/console/audit", N_("Audit log"), "audit.read"),
    NavItem("/console/webhooks", N_("Webhook deliveries"), "webhooks"),
    NavItem("/console/complaints", N_("Complaints"), "complaints.read"),
    NavItem("/console/accounts", N_("Staff accounts"), "staff.manage"),
)


def navigation(actor: Actor) -> list[NavItem]:
    """The pages ``actor`` may open: the menu shows nothing else."""
    return [item for item in NAV if actor.may(item.scope)]


STATUS_LABELS = {
    "received": N_("Received"),
    "verified": N_("Identity verified"),
    "in_progress": N_("In progress"),
    "completed": N_("Completed"),
    "refused": N_("Refused"),
}
KIND_LABELS = {
    "access": N_("Access"),
    "portability": N_("Portability"),
    "rectification": N_("Rectification"),
    "erasure": N_("Erasure"),
    "restriction": N_("Restriction"),
    "objection": N_("Objection"),
    "opt_out_sale": N_("Opt-out of sale or sharing"),
    "limit_sensitive": N_("Limit sensitive data"),
}
STANDING_LABELS = {
    "on_time": N_("On time"),
    "due_soon": N_("Due soon"),
    "overdue": N_("Overdue"),
}
ROLE_LABELS = {
    "admin": N_("Administrator"),
    "dpo": N_("Data protection officer"),
    "support": N_("Support agent"),
    "marketing": N_("Marketing"),
    "auditor": N_("Auditor"),
}
#: Messages after an action on a request (the page is reached again by a redirect).
DONE_LABELS = {
    "assign": N_("The request is assigned."),
    "verify": N_("The identity is recorded as verified."),
    "approve": N_("The request is approved and carried out."),
    "refuse": N_("The request is refused; the requester is told why."),
    "extend": N_("The deadline is extended; the requester is told why."),
    "lift": N_("The restriction is lifted."),
    "created": N_("The account is created."),
    "disabled": N_("The account is disabled and its sessions ended."),
    "mfa": N_("The account's authenticator is reset: it enrols again at its next sign-in."),
    "handled": N_("The complaint is marked as handled."),
    "role": N_("The account's role is changed; its sessions ended, so it signs in again."),
}


# -- manifest ---------------------------------------------------------------------------------
def manifest_history(
    session: Session, *, actor: Actor
) -> list[manifest_service.ManifestVersionInfo]:
    actor.require("manifest.read")
    return manifest_service.history(session)


@dataclass(frozen=True)
class DataMap:
    """The manifest as a graph: categories hold fields, purposes use fields, recipients
    receive what purposes share."""

    seq: int
    manifest: Manifest
    categories: list[str]
    fields: list[str]
    purposes: list[str]
    recipients: list[str]
    links: list[tuple[str, str]] = field(default_factory=list)


def data_map(session: Session, *, actor: Actor) -> DataMap:
    actor.require("manifest.read")
    loaded = manifest_service.current(session)
    manifest = loaded.manifest
    categories = sorted({spec.category for spec in manifest.fields})
    fields = [spec.name for spec in sorted(manifest.fields, key=lambda f: (f.category, f.name))]
    purposes = [p.key for p in manifest.purposes]
    recipients = sorted({r.name for p in manifest.purposes for r in p.recipients})
    links: list[tuple[str, str]] = [
        (f"0:{spec.category}", f"1:{spec.name}") for spec in manifest.fields
    ]
    links += [(f"1:{name}", f"2:{p.key}") for p in manifest.purposes for name in p.fields]
    links += [(f"2:{p.key}", f"3:{r.name}") for p in manifest.purposes for r in p.recipients]
    return DataMap(loaded.seq, manifest, categories, fields, purposes, recipients, links)


# -- webhooks ---------------------------------------------------------------------------------
def delivery_log(
    session: Session, *, actor: Actor, limit: int = 100
) -> list[webhooks_service.DeliveryRecord]:
    actor.require("webhooks")
    return webhooks_service.delivery_log(session, limit=limit)


# -- consent analytics ------------------------------------------------------------------------
@dataclass(frozen=True)
class ConsentRates:
    """Per target and per day: the opt-in rate (yes among decisions) and the withdrawal rate
    (withdrawals per consent given), ``None`` on days without decisions."""

    days: list[date]
    targets: list[str]
    opt_in: dict[str, list[float | None]]
    withdrawal: dict[str, list[float | None]]
    totals: dict[str, tuple[int, int, int]]


def consent_rates(counts: Sequence[DailyCount], *, since: date, until: date) -> ConsentRates:
    days = [since + timedelta(days=n) for n in range((until - since).days + 1)]
    targets = sorted({c.target for c in counts})
    by_key = {(c.target, c.day): c for c in counts}
    opt_in: dict[str, list[float | None]] = {}
    withdrawal: dict[str, list[float | None]] = {}
    totals: dict[str, tuple[int, int, int]] = {}
    for target in targets:
        rows = [by_key.get((target, day)) for day in days]
        opt_in[target] = [r.opt_in_rate if r else None for r in rows]
        withdrawal[target] = [r.withdrawal_rate if r else None for r in rows]
        totals[target] = (
            sum(r.given for r in rows if r),
            sum(r.refused for r in rows if r),
            sum(r.withdrawn for r in rows if r),
        )
    return ConsentRates(days, targets, opt_in, withdrawal, totals)


# -- customer look-up -------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class LookupForm:
    """What the look-up form offers: the e-mail field searched through its blind index, and
    the purposes ``actor`` may read that use it (the look-up and the read go through one)."""

    field: str
    purposes: list[str]


def lookup_form(session: Session, *, actor: Actor) -> LookupForm:
    """Raises :class:`ConsoleForbidden` when the role has no purpose to look customers up
    with (marketing, for one)."""
    actor.require("customers.lookup")
    manifest = manifest_service.current(session).manifest
    name = next((s.name for s in manifest.fields if s.type is FieldType.EMAIL and s.lookup), None)
    purposes = [p.key for p in manifest.purposes if name in p.fields and actor.may_use(p.key)]
    if name is None or not purposes:
        raise ConsoleForbidden()
    return LookupForm(name, purposes)


def look_up(
    session: Session,
    *,
    vault: Vault,
    actor: Actor,
    purpose: str,
    field_name: str,
    value: str,
    limit: int = 10,
) -> list[CustomerView]:
    """Customers whose ``field_name`` is ``value`` (blind index), each read for ``purpose``:
    only that purpose's fields, masked for a role that sees masked values."""
    actor.require("customers.lookup")
    found: list[uuid.UUID] = vault.find(
        session, actor=actor, purpose=purpose, field=field_name, value=value
    )
    return [
        vault.read(session, actor=actor, purpose=purpose, customer_id=customer_id)
        for customer_id in found[:limit]
    ]
