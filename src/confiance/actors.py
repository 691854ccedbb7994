"""Who is acting: every service verb that touches personal data takes an :class:`Actor`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["Actor"]

ActorKind = Literal["apikey", "cli", "system", "staff"]


@dataclass(frozen=True, slots=True)
class Actor:
    """An API key, an operator at the CLI, or Confiance itself.

    ``purposes`` limits what the actor may process; ``None`` means any declared purpose (an
    operator with access to the key file can read everything anyway).
    """

    kind: ActorKind
    id: str
    purposes: frozenset[str] | None = None

    @property
    def label(self) -> str:
        return f"{self.kind}:{self.id}"

    def may_use(self, purpose: str) -> bool:
        return self.purposes is None or purpose in self.purposes

    @classmethod
    def operator(cls, name: str = "operator") -> Actor:
        return cls("cli", name)

    @classmethod
    def system(cls, name: str) -> Actor:
        return cls("system", name)
