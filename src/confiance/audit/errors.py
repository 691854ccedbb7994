"""Errors of the audit domain.

::

    AuditError
    ├── AuditChainBroken    verification found tampering (kind, seq, detail)
    └── AuditWriteFailed    an entry could not be written; the caller's action must fail
"""

from __future__ import annotations

from typing import Literal, get_args

from confiance.errors import ConfianceError

__all__ = ["TAMPER_KINDS", "AuditChainBroken", "AuditError", "AuditWriteFailed", "TamperKind"]

TamperKind = Literal[
    "changed", "removed", "inserted", "reordered", "truncated", "checkpoint-invalid"
]
TAMPER_KINDS: tuple[TamperKind, ...] = get_args(TamperKind)


class AuditError(ConfianceError):
    code = "audit"
    status = 500
    title = "Audit log failure"


class AuditChainBroken(AuditError):
    """The audit chain does not verify: the first problem found, with where it is.

    ``seq`` is the position of the problem: the altered, inserted or misplaced entry, the first
    missing entry for ``removed`` and ``truncated``, or the checkpoint's seq for
    ``checkpoint-invalid``. It is ``None`` only for a checkpoint-file line too damaged to name
    one. ``detail`` names positions and hashes, never the content of an entry.
    """

    code = "audit-chain-broken"
    title = "The audit log has been tampered with"

    def __init__(self, *, kind: TamperKind, seq: int | None, detail: str) -> None:
        if kind not in TAMPER_KINDS:
            raise ValueError(f"unknown tampering kind {kind!r}")
        where = f" at seq {seq}" if seq is not None else ""
        super().__init__(detail, kind=kind, seq=seq)
        self.kind: TamperKind = kind
        self.seq = seq
        self.args = (f"audit chain broken ({kind}){where}: {detail}",)

    def __repr__(self) -> str:
        return f"AuditChainBroken(kind={self.kind!r}, seq={self.seq!r})"


class AuditWriteFailed(AuditError):
    """An audit entry or checkpoint could not be written.

    Raised inside the caller's transaction, so the audited action is rolled back with it: no
    action happens without its audit entry (the log fails closed).
    """

    code = "audit-write-failed"
    title = "The action could not be audited"
