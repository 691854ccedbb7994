"""Fill an installation with the example retailer's manifest and fictional customers."""

from __future__ import annotations

import uuid
from collections.abc import Callable
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
