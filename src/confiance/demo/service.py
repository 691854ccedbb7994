"""Fill an installation with the example retailer's manifest and fictional customers."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from importlib import resources

from sqlalchemy import select

from confiance import overview
from confiance.actors import Actor
from confiance.demo.generator import CustomerFactory
from confiance.manifest import service as manifest_service
from confiance.manifest.schemas import LegalBasis
from confiance.runtime import Runtime
from confiance.vault.models import Customer

__all__ = ["EXAMPLE_MANIFEST", "example_manifest_text", "load_example_manifest", "populate"]

EXAMPLE_MANIFEST = "maison-exemple.yaml"


def example_manifest_text() -> str:
    return (resources.files("confiance.demo") / EXAMPLE_MANIFEST).read_text(encoding="utf-8")


def load_example_manifest(runtime: Runtime, *, actor: Actor) -> int:
    with runtime.db.transaction() as session:
        loaded = manifest_service.load(
            session,
            text=example_manifest_text(),
            source_name=EXAMPLE_MANIFEST,
            actor=actor.label,
            on_loaded=runtime.manifest_loaded_hook(actor),
        )
    return loaded.seq


def populate(
    runtime: Runtime,
    *,
    count: int,
    actor: Actor,
    batch_size: int = 250,
    seed: int = 2026,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Collect ``count`` fictional customers for the purposes that need no consent."""
    with runtime.db.transaction() as session:
        manifest = manifest_service.current(session).manifest
    purposes = [p.key for p in manifest.purposes if p.legal_basis is not LegalBasis.CONSENT]
    allowed = {f for p in manifest.purposes if p.key in purposes for f in p.fields}
    factory = CustomerFactory(seed=seed)
    done = 0
    while done < count:
        size = min(batch_size, count - done)
        batch = [{k: v for k, v in c.items() if k in allowed} for c in factory.customers(size)]
        with runtime.db.transaction() as session:
            runtime.vault.collect_many(session, actor=actor, purposes=purposes, records=batch)
        done += size
        if progress:
            progress(size)
    return done


def some_customer(runtime: Runtime) -> uuid.UUID | None:
    """One customer's id, to show a read in the demo's instructions."""
    with runtime.db.transaction() as session:
        return session.execute(
            select(Customer.id).order_by(Customer.created_at, Customer.id).limit(1)
        ).scalar_one_or_none()


def customer_count(runtime: Runtime) -> int:
    with runtime.db.transaction() as session:
        return overview.summary(session).customers


DEMO_DPO = "dpo@maison-exemple.example"


def ensure_dpo(runtime: Runtime, *, actor: Actor) -> tuple[str, str, str] | None:
    """The demo's DPO account, created once with a random password and an enrolled TOTP
    secret, both returned to be printed once; ``None`` when it exists already (a rerun)."""
    from confiance.staff.service import new_password

    admin = Actor(actor.kind, actor.id, scopes=frozenset({"staff.manage"}))
    with runtime.db.transaction() as session:
        if any(v.email == DEMO_DPO for v in runtime.staff.list(session, actor=admin)):
            return None
        password = new_password()
        view = runtime.staff.create(
            session,
            email=DEMO_DPO,
            display_name="Délégué à la protection des données (démo)",
            role="dpo",
            password=password,
            actor=admin,
        )
        secret = runtime.staff.enrol_now(session, user_id=view.id, actor=admin)
    return DEMO_DPO, password, secret


def animate(runtime: Runtime, *, actor: Actor, seed: int = 2026, customers: int = 600) -> None:
    """Give the demo a past: consent decisions spread over the last 90 days (some withdrawn
    since), rights requests at every step (one overdue, one due soon), complaints and survey
    answers, so that the console has something to show. Done once: a rerun adds nothing."""
    import random
    from datetime import timedelta

    from confiance import clock
    from confiance.consent.models import ConsentEvent
    from confiance.consent.rules import State
    from confiance.consent.service import Change, ConsentContext
    from confiance.rights.models import RightsRequest

    with runtime.db.transaction() as session:
        if session.execute(select(ConsentEvent.id).limit(1)).first() is not None:
            return
        if session.execute(select(RightsRequest.id).limit(1)).first() is not None:
            return
        manifest = manifest_service.current(session).manifest
        ids = list(
            session.execute(
                select(Customer.id).order_by(Customer.created_at, Customer.id).limit(customers)
            ).scalars()
        )
    consent_purposes = [p.key for p in manifest.purposes if p.legal_basis is LegalBasis.CONSENT]
    rng = random.Random(seed)  # noqa: S311 (fictional data, not secrets)
    now = clock.now()
    demo_actor = Actor(actor.kind, actor.id, scopes=frozenset({"consent.write", "rights.manage"}))
    try:
        for customer_id in ids:
            decided = now - timedelta(days=rng.uniform(1, 90))
            changes = [
                Change(p, State.GIVEN if rng.random() < 0.62 else State.REFUSED)
                for p in consent_purposes
            ]
            clock.set_clock(_fixed(decided))
            with runtime.db.transaction() as session:
                runtime.consent.record(
                    session,
                    customer_id=customer_id,
                    changes=changes,
                    context=ConsentContext(channel="privacy_center", method="consent banner"),
                    actor=demo_actor,
                )
            given = [c.target for c in changes if c.state == State.GIVEN]
            if given and rng.random() < 0.15:
                later = decided + timedelta(days=rng.uniform(0.5, (now - decided).days + 0.5))
                clock.set_clock(_fixed(min(later, now)))
                with runtime.db.transaction() as session:
                    runtime.consent.record(
                        session,
                        customer_id=customer_id,
                        changes=[Change(rng.choice(given), State.WITHDRAWN)],
                        context=ConsentContext(channel="privacy_center", method="privacy center"),
                        actor=demo_actor,
                    )
        _requests(runtime, actor=demo_actor, now=now)
    finally:
        clock.set_clock(None)
    with runtime.db.transaction() as session:
        for text, topic in (
            ("J'ai reçu une publicité alors que j'avais tout refusé.", "consent"),
            ("Ma demande d'accès n'a pas eu de réponse après trois semaines.", "rights_request"),
            ("Pourquoi mon adresse est-elle transmise au transporteur ?", "data_use"),
        ):
            runtime.portal.complain(session, signed=None, topic=topic, text=text, language="fr")
        for _ in range(40):
            runtime.portal.answer_survey(
                session,
                signed=None,
                trust=rng.choice((3, 4, 4, 5, 5)),
                clarity=rng.choice((2, 3, 4, 4, 5)),
                control=rng.choice((3, 4, 5, 5)),
                comment=None,
                language="fr",
            )


def _fixed(moment: datetime) -> Callable[[], datetime]:
    return lambda: moment


def _requests(runtime: Runtime, *, actor: Actor, now: datetime) -> None:
    """Requests of fictional people at every step of the workflow."""
    from datetime import timedelta

    from confiance import clock

    factory = CustomerFactory(seed=77)
    plans = [
        ("access", 40, "verified", "gdpr"),  # overdue
        ("erasure", 27, "verified", "gdpr"),  # due soon
        ("rectification", 3, "verified", "gdpr"),
        ("access", 1, "received", "gdpr"),
        ("opt_out_sale", 5, "verified", "ccpa"),  # done at once
        ("access", 12, "refused", "gdpr"),
    ]
    for kind, days_ago, status, law in plans:
        person = factory.customer()
        details = {"values": {"city": "Villeurbanne"}} if kind == "rectification" else None
        clock.set_clock(_fixed(now - timedelta(days=days_ago)))
        with runtime.db.transaction() as session:
            intake = runtime.rights.submit(
                session,
                kind=kind,
                email=person["email"],
                actor=actor,
                jurisdiction=law,
                channel="api",
                details=details,
            )
            if status in ("verified", "refused"):
                runtime.rights.staff_verify(
                    session,
                    request_id=intake.id,
                    actor=actor,
                    note="pièce d'identité vue en magasin",
                )
            if status == "refused":
                runtime.rights.refuse(
                    session,
                    request_id=intake.id,
                    actor=actor,
                    reason="Une demande identique a reçu sa réponse la semaine précédente.",
                )
