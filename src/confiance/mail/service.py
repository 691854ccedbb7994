"""The mail outbox: queue a message to a customer in the caller's transaction.

:func:`enqueue` writes one row of ``mail_outbox`` and does not commit: the message exists if and
only if the change that decided to send it commits (a one-time code is mailed only if the code
was stored). The worker (:mod:`confiance.mail.delivery`) sends it afterwards.

The address and the whole message (subject, text, HTML) are personal data: a one-time code, an
answer to a rights request. Both are sealed with AES-256-GCM under a key derived from the key
ring (``derived_key(ring, "mail-outbox")``, stable across KEK rotations) and bound to the
message id and to which part they are, so a sealed address cannot be moved to another row or
read as a body. Both columns are set to NULL in the same update that marks the message sent, or
failed for good: what stays is the kind, the dates, the attempt count and an error kind.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Final, cast

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import Table, delete, func, select
from sqlalchemy.orm import Session

from confiance import clock
from confiance.crypto import Keyring, KeyringSource, SymmetricKey, context
from confiance.crypto.derived import derived_key
from confiance.mail.errors import InvalidMailAddress, MailRejected
from confiance.mail.models import MailMessage
from confiance.webhooks.service import new_event_id

__all__ = [
    "STATES",
    "Content",
    "MailLogEntry",
    "MailStatus",
    "discard_for_customer",
    "discard_for_request",
    "enqueue",
    "log",
    "normalize_address",
    "open_content",
    "open_recipient",
    "prune",
    "status",
]

STATES: Final = ("pending", "sent", "failed")
#: A subject line stays on one line of a mail reader; longer is a mistake of the caller.
MAX_SUBJECT: Final = 250
#: A message to a customer is a code or a short answer; an export goes as a download link.
MAX_BODY_BYTES: Final = 256 * 1024

_outbox = cast(Table, MailMessage.__table__)
_KIND = re.compile(r"[a-z][a-z0-9_.-]{0,31}")
_PID = re.compile(r"[A-Za-z0-9-]{1,36}")
_HEADER_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

# -- sealing ------------------------------------------------------------------------------------
_SEALING_PURPOSE = "mail-outbox"


def _sealing_key(ring: Keyring) -> SymmetricKey:
    return derived_key(ring, _SEALING_PURPOSE)


def _ctx(message_id: str, part: str) -> bytes:
    return context(_SEALING_PURPOSE, message_id, part)


@dataclass(frozen=True)
class Content:
    """What a message says. Never logged, never in an exception."""

    subject: str
    text: str
    html: str | None = None

    def __repr__(self) -> str:
        return "<Content ****>"


def open_recipient(keys: KeyringSource, message_id: str, sealed: bytes) -> str:
    """The address a message goes to (raises the opaque ``DecryptionFailed``)."""
    key = _sealing_key(keys.get())
    return key.open(sealed, ctx=_ctx(message_id, "recipient")).decode()


def open_content(keys: KeyringSource, message_id: str, sealed: bytes) -> Content:
    """Subject, text and HTML of a message (raises the opaque ``DecryptionFailed``)."""
    key = _sealing_key(keys.get())
    doc = json.loads(key.open(sealed, ctx=_ctx(message_id, "message")))
    return Content(subject=doc["subject"], text=doc["text"], html=doc.get("html"))


# -- validation ---------------------------------------------------------------------------------
def normalize_address(address: str) -> str:
    """The address as it will be used: syntax checked (RFC 5321/5322 and internationalised
    addresses, through ``email-validator``, without any DNS query), the domain lower-cased and
    in IDNA form where needed. Raises :class:`InvalidMailAddress`, which never quotes it."""
    if not isinstance(address, str) or len(address) > 320:
        raise InvalidMailAddress()
    try:
        checked = validate_email(address.strip(), check_deliverability=False)
    except EmailNotValidError:
        # The library's message may quote parts of the address: only the fact is reported.
        raise InvalidMailAddress() from None
    return checked.normalized


def _check_kind(kind: str) -> str:
    if not isinstance(kind, str) or not _KIND.fullmatch(kind):
        raise MailRejected(
            "its kind must be 1 to 32 lower-case letters, digits, '_', '.' or '-' "
            "(e.g. 'rights.code')"
        )
    return kind


def _check_content(kind: str, subject: str, text: str, html: str | None) -> Content:
    if not subject.strip():
        raise MailRejected("it has no subject", kind=kind)
    if len(subject) > MAX_SUBJECT:
        raise MailRejected(f"its subject is longer than {MAX_SUBJECT} characters", kind=kind)
    if _HEADER_CONTROL.search(subject):
        raise MailRejected("its subject contains line breaks or control characters", kind=kind)
    if not text.strip():
        raise MailRejected("it has no text part", kind=kind)
    size = len(text.encode()) + (len(html.encode()) if html is not None else 0)
    if size > MAX_BODY_BYTES:
        raise MailRejected(f"its body is larger than {MAX_BODY_BYTES} bytes", kind=kind)
    return Content(subject=subject.strip(), text=text, html=html)


def _check_pid(name: str, value: str | None) -> str | None:
    if value is not None and not _PID.fullmatch(value):
        raise MailRejected(f"its {name} is not an id of at most 36 letters, digits and '-'")
    return value


def _new_message_id(moment: datetime) -> str:
    # The outbox's ULID (time-ordered, 80 random bits) from the webhook module, with the mail
    # domain's own prefix: 'mail_' and 26 characters.
    return "mail_" + new_event_id(moment).removeprefix("msg_").removesuffix("_")


# -- verbs --------------------------------------------------------------------------------------
def enqueue(
    session: Session,
    *,
    keys: KeyringSource,
    to: str,
    subject: str,
    text: str,
    html: str | None = None,
    kind: str,
    customer_pid: str | None = None,
    request_id: str | None = None,
) -> str:
    """Queue one message to ``to`` in the caller's transaction; return its id.

    Everything is checked before the row is written: an invalid address raises
    :class:`InvalidMailAddress`, a malformed message :class:`MailRejected`. ``kind`` says what
    the message is (``rights.code``, ``rights.answer``) and is all the log shows of it;
    ``customer_pid`` and ``request_id`` let an erasure or a superseded code drop it.
    """
    kind = _check_kind(kind)
    address = normalize_address(to)
    content = _check_content(kind, subject, text, html)
    customer_pid = _check_pid("customer id", customer_pid)
    request_id = _check_pid("request id", request_id)
    now = clock.now()
    message_id = _new_message_id(now)
    key = _sealing_key(keys.get())
    body = {"subject": content.subject, "text": content.text}
    if content.html is not None:
        body["html"] = content.html
    session.connection().execute(
        _outbox.insert().values(
            id=message_id,
            kind=kind,
            recipient_sealed=key.seal(address.encode(), ctx=_ctx(message_id, "recipient")),
            message_sealed=key.seal(
                json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode(),
                ctx=_ctx(message_id, "message"),
            ),
            customer_pid=customer_pid,
            request_id=request_id,
            created_at=now,
            state="pending",
            attempts=0,
            next_attempt_at=now,
            claimed_until=None,
            last_error=None,
            sent_at=None,
        )
    )
    return message_id


def discard_for_customer(session: Session, *, customer_pid: str) -> int:
    """Delete the mail still waiting for a customer being erased; return how many.

    A message in flight (claimed by a worker at this moment) is deleted too: the worker's
    result then updates nothing. Sent and failed rows hold no address or content any more.
    """
    result = session.connection().execute(
        delete(_outbox).where(_outbox.c.customer_pid == customer_pid, _outbox.c.state == "pending")
    )
    return int(result.rowcount)


def discard_for_request(session: Session, *, request_id: str, kind: str | None = None) -> int:
    """Delete the mail still waiting for a rights request (of one ``kind``, or all): a code
    replaced by a newer one is not worth sending."""
    statement = delete(_outbox).where(
        _outbox.c.request_id == request_id, _outbox.c.state == "pending"
    )
    if kind is not None:
        statement = statement.where(_outbox.c.kind == kind)
    return int(session.connection().execute(statement).rowcount)


@dataclass(frozen=True)
class MailStatus:
    pending: int
    sent: int
    failed: int
    #: Pending messages whose next attempt is due now.
    due: int
    #: When the oldest pending message was queued.
    oldest_pending_at: datetime | None


def status(session: Session, *, now: datetime | None = None) -> MailStatus:
    """Counts by state."""
    at = now or clock.now()
    counts = {
        state: int(n)
        for state, n in session.execute(
            select(_outbox.c.state, func.count()).group_by(_outbox.c.state)
        )
    }
    due, oldest = session.execute(
        select(
            func.count().filter(_outbox.c.next_attempt_at <= at),
            func.min(_outbox.c.created_at),
        ).where(_outbox.c.state == "pending")
    ).one()
    return MailStatus(
        pending=counts.get("pending", 0),
        sent=counts.get("sent", 0),
        failed=counts.get("failed", 0),
        due=int(due),
        oldest_pending_at=oldest,
    )


@dataclass(frozen=True)
class MailLogEntry:
    """One message as the log shows it: never its address or content."""

    id: str
    kind: str
    state: str
    attempts: int
    created_at: datetime
    next_attempt_at: datetime
    sent_at: datetime | None
    last_error: str | None
    customer_pid: str | None
    request_id: str | None


def log(session: Session, *, limit: int = 50, state: str | None = None) -> list[MailLogEntry]:
    """The latest messages, newest first."""
    if state is not None and state not in STATES:
        raise MailRejected(f"'{state}' is not a state; use one of {', '.join(STATES)}")
    statement = (
        select(
            _outbox.c.id,
            _outbox.c.kind,
            _outbox.c.state,
            _outbox.c.attempts,
            _outbox.c.created_at,
            _outbox.c.next_attempt_at,
            _outbox.c.sent_at,
            _outbox.c.last_error,
            _outbox.c.customer_pid,
            _outbox.c.request_id,
        )
        .order_by(_outbox.c.created_at.desc(), _outbox.c.id.desc())
        .limit(max(1, min(limit, 1000)))
    )
    if state is not None:
        statement = statement.where(_outbox.c.state == state)
    return [MailLogEntry(**row._mapping) for row in session.execute(statement)]


def prune(session: Session, *, before: datetime) -> int:
    """Delete sent and failed messages queued before ``before``. They hold no content, but a
    customer's pseudonymous id and when they were mailed, kept only while the log is useful."""
    result = session.connection().execute(
        delete(_outbox).where(
            _outbox.c.state.in_(("sent", "failed")), _outbox.c.created_at < before
        )
    )
    return int(result.rowcount)
