"""Staff roles and what each may do, as an :class:`~confiance.actors.Actor` the services check.

Least privilege, enforced where the data is: the services check the actor's scopes and
purposes, the pages only hide what the actor could not do anyway.

| role | may |
|---|---|
| admin | manage staff accounts, webhooks, the manifest, read the audit log; no customer data |
| dpo | everything about rights requests, consent, the audit log, complaints; customer look-up |
| support | look customers up and see what the support purpose needs, masked |
| marketing | consent analytics and audiences: aggregates and pseudonymous ids, no identities |
| auditor | read the audit log and its verification, the manifest history; nothing else |
"""

from __future__ import annotations

from enum import StrEnum

from confiance.actors import Actor

__all__ = ["ROLE_LABELS", "Role", "actor_for"]


class Role(StrEnum):
    ADMIN = "admin"
    DPO = "dpo"
    SUPPORT = "support"
    MARKETING = "marketing"
    AUDITOR = "auditor"


ROLE_LABELS: dict[Role, dict[str, str]] = {
    Role.ADMIN: {"fr": "Administrateur", "en": "Administrator"},
    Role.DPO: {"fr": "Délégué à la protection des données", "en": "Data protection officer"},
    Role.SUPPORT: {"fr": "Service client", "en": "Support agent"},
    Role.MARKETING: {"fr": "Marketing", "en": "Marketing"},
    Role.AUDITOR: {"fr": "Auditeur", "en": "Auditor"},
}

_SCOPES: dict[Role, frozenset[str]] = {
    Role.ADMIN: frozenset({"staff.manage", "webhooks", "manifest.read", "audit.read", "analytics"}),
    Role.DPO: frozenset(
        {
            "rights.read",
            "rights.manage",
            "consent.read",
            "audit.read",
            "manifest.read",
            "analytics",
            "complaints.read",
            "complaints.manage",
            "customers.lookup",
            "webhooks",
        }
    ),
    Role.SUPPORT: frozenset({"customers.lookup", "consent.read", "rights.read"}),
    Role.MARKETING: frozenset({"analytics", "audiences", "manifest.read"}),
    Role.AUDITOR: frozenset({"audit.read", "manifest.read"}),
}

#: Purposes whose fields each role may read. ``None``: every declared purpose.
_PURPOSES: dict[Role, frozenset[str] | None] = {
    Role.ADMIN: frozenset(),
    Role.DPO: None,
    Role.SUPPORT: frozenset({"customer_support"}),
    Role.MARKETING: frozenset(),
    Role.AUDITOR: frozenset(),
}


def actor_for(role: Role | str, staff_id: str) -> Actor:
    """The actor a signed-in member of staff acts as."""
    role = Role(role)
    return Actor(
        "staff",
        f"{role.value}:{staff_id}",
        purposes=_PURPOSES[role],
        scopes=_SCOPES[role],
        masked=role is Role.SUPPORT,
    )
