"""Searching the audit log, and verifying it, for people who hold the ``audit.read`` scope.

The log holds pseudonymous customer ids, actor labels, action names and field names, never a
value, so a search shows nothing more than who did what to which pseudonymous customer and
when. Searching is itself an access to that history, so each search is audited (its filters,
which are ids and names too).

Results come newest first, one page at a time; a page asks for one row more than it shows to
know whether another page follows, rather than counting a table of millions of rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from confiance import clock
from confiance.actors import Actor
from confiance.audit.models import AuditEntry
from confiance.audit.service import AuditEvent, AuditLog
from confiance.audit.verify import VerifyReport
from confiance.errors import ValidationFailed

if TYPE_CHECKING:
    from confiance.db import Database

__all__ = [
    "MAX_PER_PAGE",
    "AuditFilters",
    "AuditPage",
    "AuditRecord",
    "InvalidAuditSearch",
    "search",
    "verify",
]

MAX_PER_PAGE = 200


class InvalidAuditSearch(ValidationFailed):
    code = "invalid-audit-search"
    title = "This audit search cannot be run"

    def __init__(self, problem: str, **fields: object) -> None:
        super().__init__(problem[:1].upper() + problem[1:] + ".", **fields)


@dataclass(frozen=True, slots=True)
class AuditFilters:
    """What to look for; every filter left empty matches everything.

    ``actor`` and ``action`` match a prefix (``staff:dpo:`` finds every DPO, ``vault.`` every
    vault action); ``customer_pid`` matches exactly; ``since`` and ``until`` are UTC days,
    both included.
    """

    customer_pid: str | None = None
    actor: str | None = None
    action: str | None = None
    since: date | None = None
    until: date | None = None

    def described(self) -> str:
        parts = [
            f"{name} {value}"
            for name, value in (
                ("actor", self.actor),
                ("action", self.action),
                ("since", self.since),
                ("until", self.until),
            )
            if value
        ]
        return "filters: " + (", ".join(parts) if parts else "none")


@dataclass(frozen=True, slots=True)
class AuditRecord:
    seq: int
    at: datetime
    actor: str
    action: str
    customer_pid: str | None
    purpose: str | None
    fields: tuple[str, ...]
    outcome: str
    detail: str | None


@dataclass(frozen=True, slots=True)
class AuditPage:
    entries: list[AuditRecord]
    page: int
    per_page: int
    has_next: bool

    @property
    def has_previous(self) -> bool:
        return self.page > 1


def _like_prefix(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + "%"


def _micros(day: date) -> int:
    return clock.to_micros(datetime.combine(day, time(0), tzinfo=UTC))


def _clean(value: str | None, limit: int, name: str) -> str | None:
    text = (value or "").strip()
    if not text:
        return None
    if len(text) > limit:
        raise InvalidAuditSearch(f"{name} is at most {limit} characters", field=name)
    return text


def search(
    session: Session,
    *,
    audit: AuditLog,
    actor: Actor,
    filters: AuditFilters,
    page: int = 1,
    per_page: int = 50,
) -> AuditPage:
    """One page of the entries matching ``filters``, newest first."""
    actor.require("audit.read")
    pid = _clean(filters.customer_pid, 36, "customer_pid")
    who = _clean(filters.actor, 128, "actor")
    what = _clean(filters.action, 64, "action")
    if filters.since and filters.until and filters.since > filters.until:
        raise InvalidAuditSearch("the first day comes after the last one", field="since")
    page = max(page, 1)
    per_page = min(max(per_page, 1), MAX_PER_PAGE)
    query = select(AuditEntry)
    if pid is not None:
        query = query.where(AuditEntry.customer_pid == pid)
    if who is not None:
        query = query.where(AuditEntry.actor.like(_like_prefix(who), escape="\\"))
    if what is not None:
        query = query.where(AuditEntry.action.like(_like_prefix(what), escape="\\"))
    if filters.since is not None:
        query = query.where(AuditEntry.at_us >= _micros(filters.since))
    if filters.until is not None:
        query = query.where(AuditEntry.at_us < _micros(filters.until + timedelta(days=1)))
    rows = list(
        session.execute(
            query.order_by(AuditEntry.seq.desc()).limit(per_page + 1).offset((page - 1) * per_page)
        ).scalars()
    )
    # The search is recorded before its results are handed over.
    audit.record(
        session,
        AuditEvent(
            action="audit.search",
            actor=actor.label,
            customer_pid=pid,
            detail=f"{filters.described()}; page {page}"[:500],
        ),
    )
    return AuditPage(
        entries=[
            AuditRecord(
                seq=row.seq,
                at=clock.from_micros(row.at_us),
                actor=row.actor,
                action=row.action,
                customer_pid=row.customer_pid,
                purpose=row.purpose,
                fields=tuple(f for f in row.fields.split(",") if f),
                outcome=row.outcome,
                detail=row.detail,
            )
            for row in rows[:per_page]
        ],
        page=page,
        per_page=per_page,
        has_next=len(rows) > per_page,
    )


def verify(db: Database, *, audit: AuditLog, actor: Actor) -> VerifyReport:
    """:meth:`AuditLog.verify` for someone holding ``audit.read``: the report of a chain that
    verifies, or :class:`~confiance.audit.errors.AuditChainBroken` at its first problem."""
    actor.require("audit.read")
    return audit.verify(db)
