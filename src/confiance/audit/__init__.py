"""The tamper-evident audit log: a hash chain of entries with signed checkpoints.

Every collection, read, rectification and administrative action appends an
:class:`AuditEvent` through :meth:`AuditLog.record` in the same transaction as the action.
:meth:`AuditLog.verify` recomputes the chain and raises :class:`AuditChainBroken` at the first
sign of tampering. See ``docs/audit.md``.
"""

from confiance.audit.checkpoints import Checkpoint
from confiance.audit.encoding import GENESIS_HASH, encode_entry, entry_hash
from confiance.audit.errors import AuditChainBroken, AuditError, AuditWriteFailed, TamperKind
from confiance.audit.service import AuditEvent, AuditLog
from confiance.audit.verify import VerifyReport

__all__ = [
    "GENESIS_HASH",
    "AuditChainBroken",
    "AuditError",
    "AuditEvent",
    "AuditLog",
    "AuditWriteFailed",
    "Checkpoint",
    "TamperKind",
    "VerifyReport",
    "encode_entry",
    "entry_hash",
]
