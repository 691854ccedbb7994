"""Who is acting: every service verb that touches personal data takes an :class:`Actor`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from confiance.errors import PermissionDenied

__all__ = ["SCOPES", "Actor", "ScopeNotGranted"]

#: What an API key may do besides processing data for its purposes.
SCOPES = {
    "consent.read": "read customers' consent state, history, receipts and decisions",
    "consent.write": "record customers' decisions (grant, refuse, withdraw, object, opt out)",
    "audiences": "export the customers a purpose of the key may process",
    "webhooks": "manage webhook subscriptions and read their delivery log",
    "rights.read": "read the queue of rights requests and their history",
    "rights.manage": "act on rights requests: assign, verify, approve, refuse, extend",
    "audit.read": "search the audit log and verify its chain",
    "manifest.read": "read the privacy manifest's versions",
    "analytics": "read consent analytics (aggregates, no identities)",
    "customers.lookup": "find a customer by e-mail or phone (blind index)",
    "complaints.read": "read the complaints and survey answers customers sent",
    "complaints.manage": "mark complaints as handled",
    "staff.manage": "create, change and disable staff accounts",
    "dp.manage": "set analysts' differential-privacy budgets",
}


class ScopeNotGranted(PermissionDenied):
    code = "scope-not-granted"
    title = "Not allowed for this API key"

    def __init__(self, scope: str, actor: str) -> None:
        super().__init__(
            f"'{actor}' does not hold the scope '{scope}' ({SCOPES.get(scope, scope)}); create "
            "an API key with it ('confiance apikey create --scopes ...').",
            scope=scope,
        )


ActorKind = Literal["apikey", "cli", "system", "staff"]


@dataclass(frozen=True, slots=True)
class Actor:
    """An API key, an operator at the CLI, or Confiance itself.

    ``purposes`` limits what the actor may process; ``None`` means any declared purpose (an
    operator with access to the key file can read everything anyway). ``scopes`` limits the
    other things it may do (record consent decisions, export audiences...); ``None`` means all.
    """

    kind: ActorKind
    id: str
    purposes: frozenset[str] | None = None
    scopes: frozenset[str] | None = None
    #: Sees direct identifiers masked (``J*** D***``): a support agent confirms who is on the
    #: phone without reading the whole address.
    masked: bool = False

    @property
    def label(self) -> str:
        return f"{self.kind}:{self.id}"

    def may_use(self, purpose: str) -> bool:
        return self.purposes is None or purpose in self.purposes

    def may(self, scope: str) -> bool:
        return self.scopes is None or scope in self.scopes

    def require(self, scope: str) -> None:
        """Raise :class:`ScopeNotGranted` unless the actor holds ``scope``."""
        if not self.may(scope):
            raise ScopeNotGranted(scope, self.label)

    @classmethod
    def operator(cls, name: str = "operator") -> Actor:
        return cls("cli", name)

    @classmethod
    def system(cls, name: str) -> Actor:
        return cls("system", name)
