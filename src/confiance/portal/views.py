"""What the privacy center's pages show, shaped from the services for one signed-in customer.

The pages are an adapter: the reads that decrypt or decide go through the services
(:meth:`Vault.subject_values` audits the read before decrypting, the consent ledger decides);
what is read here directly describes the customer to themself: when each value was collected,
and the audit entries about them (the same columns the access export shows).

Texts: the pages' own through the Babel catalogs (``portal.po``, through ``gettext``); words for
legal bases, retention periods, countries, consent states and audit actions come from the
export's vocabulary (:class:`confiance.rights.export_text.Words`), so that the page and the
archive a customer downloads say the same thing in the same words.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from babel.dates import format_date
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from confiance import clock, deadlines
from confiance.audit.models import AuditEntry
from confiance.consent.rules import SALE_SHARING, SENSITIVE, Kind, State, kind_of
from confiance.consent.service import Overview
from confiance.deadlines import Jurisdiction
from confiance.erasure.service import Hold, holds_for
from confiance.manifest.schemas import FieldSpec, FieldType, Manifest, PurposeSpec
from confiance.portal.flow import Flow, FlowCategory, FlowPurpose, build_flow
from confiance.rights.export import DEFAULT_TIME_ZONE
from confiance.rights.export_text import Words
from confiance.rights.messages import KIND_LABELS
from confiance.rights.service import RequestView
from confiance.vault.models import Customer
from confiance.vault.service import Vault

__all__ = [
    "ACCESS_SHOWN",
    "READ_REASON",
    "AccessRow",
    "ChoiceView",
    "ErasurePlan",
    "HeldValue",
    "KeptValue",
    "MyData",
    "PurposeView",
    "RecipientView",
    "RequestRow",
    "Texts",
    "access_trail",
    "choices",
    "erasure_plan",
    "field_label",
    "my_data",
    "present_fields",
    "purpose_label",
    "requests",
]

Gettext = Callable[[str], str]

#: How many audit entries "who accessed my data" shows, newest first; the export has them all.
ACCESS_SHOWN = 100


def N_(message: str) -> str:
    """Marks a text for the catalogs; it is translated where it is shown."""
    return message


#: Labels of fideslang data categories, by their first two levels.
CATEGORY_LABELS = {
    "user.account": N_("Your account"),
    "user.authorization": N_("Sign-in details"),
    "user.behavior": N_("Purchases and visits"),
    "user.biometric": N_("Biometric data"),
    "user.childrens": N_("Data about children"),
    "user.contact": N_("Contact details"),
    "user.content": N_("What you wrote to us"),
    "user.criminal_history": N_("Criminal records"),
    "user.demographic": N_("Personal details"),
    "user.device": N_("Your devices"),
    "user.financial": N_("Financial details"),
    "user.government_id": N_("Official identity numbers"),
    "user.health_and_medical": N_("Health data"),
    "user.location": N_("Where you are"),
    "user.name": N_("Your name"),
    "user.payment": N_("Payment details"),
    "user.privacy_preferences": N_("Your privacy choices"),
    "user.social": N_("Social networks"),
    "user.unique_id": N_("Identifiers"),
    "user.workplace": N_("Your work"),
}

#: Who acted, by kind of actor (never the actor's id, which means nothing to a customer).
ACTOR_LABELS = {
    "staff": N_("A member of our staff"),
    "apikey": N_("One of our applications"),
    "cli": N_("An administrator of our systems"),
    "anonymous": N_("Someone who was not signed in"),
    "system": N_("An automatic process"),
}

#: Actions of the privacy center itself, next to the export's vocabulary of audit actions.
ACTION_LABELS = {
    "portal.sign-in": N_("Signed in to the privacy center"),
    "portal.complaint": N_("Complaint received"),
}

OUTCOME_LABELS = {
    "no_data": N_("We hold no data about you."),
    "export_ready": N_("Your data was handed to you."),
    "erased": N_("Your data was erased."),
    "rectified": N_("Your data was corrected."),
    "restricted": N_("The use of your data is restricted."),
    "recorded": N_("Your choice applies."),
}

STANDING_LABELS = {
    "on_time": (N_("On time"), "ok"),
    "due_soon": (N_("Due soon"), "warn"),
    "overdue": (N_("Late"), "bad"),
}

#: The reason the privacy center gives the vault when it shows a customer their own data.
READ_REASON = "privacy_center"


def _humanized(key: str) -> str:
    return key.replace("_", " ").strip().capitalize()


def field_label(gettext: Gettext, name: str) -> str:
    """A field's name for people: 'first_name' reads 'First name' ('Prénom' through the
    catalog, which translates the example manifest's fields)."""
    return gettext(_humanized(name))


def purpose_label(gettext: Gettext, key: str) -> str:
    return gettext(_humanized(key))


def category_label(gettext: Gettext, category: str) -> tuple[str, str]:
    key = ".".join(category.split(".")[:2])
    label = CATEGORY_LABELS.get(key)
    return key, gettext(label) if label else _humanized(key.rpartition(".")[2])


@dataclass(frozen=True)
class Texts:
    """The two vocabularies of a page in one language."""

    gettext: Gettext
    words: Words

    @classmethod
    def of(cls, gettext: Gettext, language: str) -> Texts:
        return cls(gettext, Words(language, time_zone=DEFAULT_TIME_ZONE))

    @property
    def language(self) -> str:
        return self.words.language


# -- "My data" ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RecipientView:
    name: str
    country: str
    role: str


@dataclass(frozen=True)
class PurposeView:
    key: str
    label: str
    description: str | None
    benefit: str | None
    basis: str
    retention: str
    recipients: list[RecipientView]
    fields: list[str]
    allowed: bool
    #: How the customer can change it, if they can: 'consent', 'objection' or None.
    kind: str | None


@dataclass(frozen=True)
class HeldValue:
    name: str
    label: str
    value: str
    reason: str
    purposes: list[tuple[str, str]]  # (key, label)
    collected: str
    updated: str | None


@dataclass(frozen=True)
class AccessRow:
    when: str
    who: str
    what: str
    why: str
    fields: str
    result: str
    refused: bool


@dataclass(frozen=True)
class MyData:
    customer_since: str
    restricted_since: str | None
    values: list[HeldValue]
    purposes: list[PurposeView]
    flow: Flow
    access: list[AccessRow]
    access_total: int


def _value_text(texts: Texts, spec: FieldSpec | None, value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, list):
        return texts.gettext("%(count)s item(s)") % {"count": len(value)}
    if spec is not None and spec.type is FieldType.DATE and isinstance(value, str):
        try:
            return texts.words.day(date.fromisoformat(value))
        except ValueError:
            return value
    if isinstance(value, bool):
        return texts.words("yes" if value else "no")
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _recipients(texts: Texts, spec: PurposeSpec) -> list[RecipientView]:
    return [
        RecipientView(
            name=r.name,
            country=texts.words.country(r.country),
            role=texts.words.coded("role", r.role.value),
        )
        for r in spec.recipients
    ]


def _purpose_view(
    texts: Texts, manifest: Manifest, spec: PurposeSpec, held: Iterable[str], allowed: bool
) -> PurposeView:
    lang = texts.language
    kind = kind_of(manifest, spec.key)
    return PurposeView(
        key=spec.key,
        label=purpose_label(texts.gettext, spec.key),
        description=spec.description.in_language(lang) if spec.description else None,
        benefit=spec.benefit.in_language(lang) if spec.benefit else None,
        basis=texts.words(f"basis.{spec.legal_basis.value}"),
        retention=texts.words.retention(spec.retention),
        recipients=_recipients(texts, spec),
        fields=[field_label(texts.gettext, f) for f in spec.fields if f in set(held)],
        allowed=allowed,
        kind=None if kind is None else kind.value,
    )


def _who(gettext: Gettext, label: str) -> str:
    """The kind of actor, never its internal id."""
    kind, _, rest = label.partition(":")
    if kind == "customer" or rest.startswith(("customer:", "requester:")):
        return gettext("You")
    return gettext(ACTOR_LABELS.get(kind, ACTOR_LABELS["system"]))


def _why(texts: Texts, manifest: Manifest, purpose: str | None) -> str:
    if not purpose:
        return "—"
    parts = []
    for part in purpose.split(","):
        if part in manifest.purposes_by_key:
            parts.append(purpose_label(texts.gettext, part))
        elif part == READ_REASON:
            parts.append(texts.gettext("Your visit to the privacy center"))
        elif f"target.{part}" in texts.words.texts:
            parts.append(texts.words.texts[f"target.{part}"])
        else:
            parts.append(texts.words.texts.get(f"reason.{part}", part))
    return texts.words.items(parts)


def _what(texts: Texts, action: str) -> str:
    if action in ACTION_LABELS:
        return texts.gettext(ACTION_LABELS[action])
    return texts.words.coded("action", action)


def access_trail(
    session: Session, texts: Texts, manifest: Manifest, customer_id: uuid.UUID
) -> tuple[list[AccessRow], int]:
    """The newest :data:`ACCESS_SHOWN` audit entries about the customer, in words, and how
    many there are in all."""
    pid = str(customer_id)
    total = session.execute(
        select(func.count()).select_from(AuditEntry).where(AuditEntry.customer_pid == pid)
    ).scalar_one()
    rows = session.execute(
        select(
            AuditEntry.at_us,
            AuditEntry.actor,
            AuditEntry.action,
            AuditEntry.purpose,
            AuditEntry.fields,
            AuditEntry.outcome,
        )
        .where(AuditEntry.customer_pid == pid)
        .order_by(AuditEntry.seq.desc())
        .limit(ACCESS_SHOWN)
    )
    trail = [
        AccessRow(
            when=texts.words.moment(clock.from_micros(r.at_us)),
            who=_who(texts.gettext, r.actor),
            what=_what(texts, r.action),
            why=_why(texts, manifest, r.purpose),
            fields=texts.words.items(
                [field_label(texts.gettext, f) for f in r.fields.split(",") if f]
            ),
            result=texts.words.outcome(r.outcome),
            refused=r.outcome != "ok",
        )
        for r in rows
    ]
    return trail, int(total)


def my_data(
    session: Session,
    *,
    vault_values: Mapping[str, Any],
    verdicts: Mapping[str, bool],
    manifest: Manifest,
    customer_id: uuid.UUID,
    texts: Texts,
) -> MyData:
    """Everything "My data" shows, from the values the vault decrypted for the customer."""
    customer = session.execute(
        select(Customer.created_at, Customer.restricted_at).where(Customer.id == customer_id)
    ).one()
    times = Vault.value_dates(session, customer_id=customer_id)
    words = texts.words
    gettext = texts.gettext
    held = [f.name for f in manifest.fields if f.name in vault_values]
    held += sorted(set(vault_values) - set(held))
    values = []
    for name in held:
        spec = manifest.fields_by_name.get(name)
        collected, updated = times.get(name, (None, None))
        using = [p.key for p in manifest.purposes if name in p.fields]
        values.append(
            HeldValue(
                name=name,
                label=field_label(gettext, name),
                value=_value_text(texts, spec, vault_values[name]),
                reason=spec.reason.in_language(texts.language) if spec else "—",
                purposes=[(k, purpose_label(gettext, k)) for k in using],
                collected=words.day(collected),
                updated=words.day(updated)
                if updated and collected and updated > collected
                else None,
            )
        )
    purposes = [
        _purpose_view(texts, manifest, spec, held, verdicts.get(spec.key, False))
        for spec in manifest.purposes
        if set(spec.fields) & set(held)
    ]
    # The picture: categories of the fields held, the purposes using them, their recipients.
    groups: dict[str, tuple[str, list[str]]] = {}
    field_group: dict[str, str] = {}
    for name in held:
        spec = manifest.fields_by_name.get(name)
        if spec is None:
            continue
        key, label = category_label(gettext, spec.category)
        groups.setdefault(key, (label, []))[1].append(field_label(gettext, name))
        field_group[name] = key
    flow = build_flow(
        [FlowCategory(k, label, tuple(names)) for k, (label, names) in groups.items()],
        [
            FlowPurpose(
                key=p.key,
                label=purpose_label(gettext, p.key),
                categories=frozenset(field_group[f] for f in p.fields if f in field_group),
                allowed=verdicts.get(p.key, False),
                recipients=tuple(
                    (f"{r.name}|{r.country}", f"{r.name} ({words.country(r.country)})")
                    for r in p.recipients
                ),
            )
            for p in manifest.purposes
        ],
    )
    access, total = access_trail(session, texts, manifest, customer_id)
    return MyData(
        customer_since=words.day(customer.created_at),
        restricted_since=words.day(customer.restricted_at) if customer.restricted_at else None,
        values=values,
        purposes=purposes,
        flow=flow,
        access=access,
        access_total=total,
    )


# -- consents ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChoiceView:
    """One switch of the consents page."""

    target: str
    kind: str
    label: str
    description: str | None
    benefit: str | None
    checked: bool
    state: str
    since: str | None
    until: str | None
    channel: str | None


def choices(overview: Overview, manifest: Manifest, texts: Texts) -> list[ChoiceView]:
    """Consent purposes (ticked only when given), objections to legitimate interests (ticked
    when the customer objected), and the opt-outs (ticked when opted out)."""
    gettext = texts.gettext
    words = texts.words
    sensitive_used = any(f.sensitive for f in manifest.fields)
    shown = []
    for item in overview.items:
        kind = kind_of(manifest, item.target)
        if kind is None or (kind is Kind.LIMIT_SENSITIVE and not sensitive_used):
            continue
        row = item.row
        state = row.state if row else None
        # A consent is ticked when given; an objection or an opt-out when the customer made it.
        checked = state == (State.GIVEN if kind is Kind.CONSENT else State.REFUSED)
        spec = manifest.purposes_by_key.get(item.target)
        lang = texts.language
        if spec is not None:
            label = purpose_label(gettext, spec.key)
            description = spec.description.in_language(lang) if spec.description else None
            benefit = spec.benefit.in_language(lang) if spec.benefit else None
        elif item.target == SALE_SHARING:
            label = gettext("Do not sell or share my personal information")
            description = gettext(
                "Stops any sale or sharing of your data with third parties, and advertising "
                "targeted from it (California's CCPA; also what your browser's Global Privacy "
                "Control signal asks for)."
            )
            benefit = None
        else:
            assert item.target == SENSITIVE
            label = gettext("Limit the use of my sensitive data")
            description = gettext(
                "Your sensitive data is then used only for what is needed to serve you."
            )
            benefit = None
        shown.append(
            ChoiceView(
                target=item.target,
                kind=kind.value,
                label=label,
                description=description,
                benefit=benefit,
                checked=checked,
                state=words.coded("state", state) if state else words(f"state.none.{kind.value}"),
                since=words.day(item.since) if item.since else None,
                until=words.day(row.expires_at) if row and row.expires_at else None,
                channel=words.coded("channel", row.channel) if row else None,
            )
        )
    return shown


# -- requests ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RequestRow:
    reference: str
    kind: str
    status: str
    received: str
    due: str
    standing: str | None
    standing_class: str | None
    outcome: str | None
    refusal_reason: str | None
    open: bool


def requests(views: Sequence[RequestView], texts: Texts) -> list[RequestRow]:
    """The customer's requests, newest first; deadlines as the day in the zone they are
    counted in (Paris for the GDPR, California for the CCPA), in the page's language."""
    lang = texts.language
    rows = []
    for v in sorted(views, key=lambda v: v.received_at, reverse=True):
        zone = deadlines.zone_of(Jurisdiction(v.jurisdiction))
        standing = STANDING_LABELS.get(v.standing or "")
        result = (v.outcome or {}).get("result")
        rows.append(
            RequestRow(
                reference=v.reference,
                kind=KIND_LABELS.get(v.kind, {}).get(lang, v.kind),
                status=texts.words.coded("status", v.status),
                received=format_date(v.received_at.astimezone(zone).date(), "long", locale=lang),
                due=format_date(v.due_at.astimezone(zone).date(), "long", locale=lang),
                standing=texts.gettext(standing[0]) if standing else None,
                standing_class=standing[1] if standing else None,
                outcome=texts.gettext(OUTCOME_LABELS[result]) if result in OUTCOME_LABELS else None,
                refusal_reason=v.refusal_reason,
                open=v.closed_at is None,
            )
        )
    return rows


# -- erasure -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class KeptValue:
    label: str
    purpose: str
    why: str | None
    basis: str
    until: str


@dataclass(frozen=True)
class ErasurePlan:
    erased: list[str]
    kept: list[KeptValue]


def erasure_plan(
    manifest: Manifest,
    *,
    present: Sequence[str],
    created_at: datetime,
    texts: Texts,
    contract_ended_at: datetime | None = None,
) -> ErasurePlan:
    """What an erasure would remove and what the law makes us keep, as of now."""
    order = {f.name: i for i, f in enumerate(manifest.fields)}
    holds: list[Hold] = sorted(
        holds_for(
            manifest,
            present=present,
            created_at=created_at,
            now=clock.now(),
            contract_ended_at=contract_ended_at,
        ),
        key=lambda h: order.get(h.field, len(order)),
    )
    kept_names = {h.field for h in holds}
    lang = texts.language
    kept = []
    for h in holds:
        spec = manifest.purposes_by_key.get(h.purpose)
        kept.append(
            KeptValue(
                label=field_label(texts.gettext, h.field),
                purpose=purpose_label(texts.gettext, h.purpose),
                why=spec.description.in_language(lang) if spec and spec.description else None,
                basis=texts.words(f"basis.{h.legal_basis}"),
                until=texts.words.day(h.until),
            )
        )
    ordered = [f.name for f in manifest.fields if f.name in present]
    ordered += sorted(set(present) - set(ordered))
    return ErasurePlan(
        erased=[field_label(texts.gettext, n) for n in ordered if n not in kept_names],
        kept=kept,
    )


def present_fields(
    session: Session, customer_id: uuid.UUID
) -> tuple[list[str], datetime, datetime | None]:
    """The names of the fields held about a customer (no value), when they became one, and
    when their contract ended (``None``: it runs)."""
    names = sorted(Vault.value_dates(session, customer_id=customer_id))
    created, ended = session.execute(
        select(Customer.created_at, Customer.contract_ended_at).where(Customer.id == customer_id)
    ).one()
    return names, created, ended
