"""Sending the mail outbox: claim, open, send, wipe.

Each round has three steps, and no database transaction stays open while a mail server answers:

1. **Claim**, in one short transaction: up to ``batch`` due messages (``SELECT ... FOR UPDATE
   SKIP LOCKED`` on PostgreSQL, so concurrent workers take disjoint sets; on SQLite the
   ``BEGIN IMMEDIATE`` transaction serialises claims). Each gets a lease (``claimed_until``) and
   its attempt number, which is also the claim's fencing token.
2. **Send**, outside any transaction: the address and content are opened and the message is
   built (``From`` = ``settings.mail.sender``, ``To``, ``Subject``, ``Date``, a ``Message-ID``
   made from the outbox id, so the same on every attempt, a UTF-8 text part and an optional
   HTML alternative) and handed to the transport: one SMTP connection per round, or one
   ``.eml`` file per message in a folder.
3. **Record**, one short transaction per message. Sent: state ``sent``, ``sent_at``, and the
   sealed address and content set to NULL in the same update. Refused for good (a 5xx answer to
   the recipient or the message) or out of attempts: state ``failed``, content wiped too.
   Anything else (the server away, a 4xx answer, a timeout) is retried after a growing,
   jittered delay. Only an error *kind* and the server's reply code are stored, never its reply
   text, which often quotes the address.

Delivery is at least once: a worker killed after the server accepted a message but before
recording it sends it again once the lease runs out, with the same ``Message-ID``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import random
import smtplib
import socket
import ssl
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from email import policy as email_policy
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from pathlib import Path
from typing import Any, Protocol, cast

from sqlalchemy import Table, or_, select, update

from confiance import clock
from confiance.background import DaemonWorker, run_rounds
from confiance.config import MailSettings, Settings
from confiance.crypto import DecryptionFailed, KeyringSource
from confiance.db import Database
from confiance.errors import ConfigurationError
from confiance.mail import service
from confiance.mail.errors import MailNotConfigured
from confiance.mail.models import MailMessage
from confiance.webhooks.worker import DeliveryPolicy

__all__ = [
    "DEFAULT_POLICY",
    "DeliveryReport",
    "DirectoryTransport",
    "MailWorker",
    "SendFailed",
    "SmtpTransport",
    "Transport",
    "build_message",
    "deliver_due",
    "mail_policy",
    "run_worker",
    "transport_from_settings",
]

log = logging.getLogger(__name__)

_outbox = cast(Table, MailMessage.__table__)

#: Mail retries sooner and gives up sooner than webhooks: a one-time code is valid for minutes,
#: and a message still refused after a few hours needs an operator, not more tries. With these
#: delays a message is tried 8 times over about five hours before it is marked failed.
DEFAULT_POLICY = DeliveryPolicy(
    retry_delays=(30.0, 120.0, 600.0, 1800.0, 3600.0),
    max_attempts=8,
    jitter=0.2,
    concurrency=1,
)


def mail_policy(mail: MailSettings, base: DeliveryPolicy = DEFAULT_POLICY) -> DeliveryPolicy:
    """``base`` with the SMTP timeout of the settings, which the lease is computed from."""
    return DeliveryPolicy(
        retry_delays=base.retry_delays,
        max_attempts=base.max_attempts,
        jitter=base.jitter,
        connect_timeout=mail.timeout_seconds,
        timeout=mail.timeout_seconds,
        concurrency=1,
        lease_margin=base.lease_margin,
        keep_for=base.keep_for,
    )


# -- transports ---------------------------------------------------------------------------------
class SendFailed(Exception):
    """A message was not handed over. ``kind`` and ``code`` are safe to store; nothing else of
    the server's answer is kept. ``permanent``: the server refused this message for good."""

    def __init__(self, kind: str, *, code: int | None = None, permanent: bool = False) -> None:
        super().__init__(kind if code is None else f"{kind} {code}")
        self.kind = kind
        self.code = code
        self.permanent = permanent

    @property
    def summary(self) -> str:
        return str(self)

    @property
    def session_wide(self) -> bool:
        """The server or the settings are at fault, not this message: the rest of the round
        would fail the same way, so it is not tried (each try could cost a timeout)."""
        return self.kind in _SESSION_WIDE


_SESSION_WIDE = frozenset({"connect", "timeout", "tls", "auth", "network", "sender-refused"})


class Connection(Protocol):
    def send(self, message: EmailMessage, *, sender: str, recipient: str) -> None:
        """Hand one message over, or raise :class:`SendFailed`."""


class Transport(Protocol):
    """Where messages go. ``connect()`` opens what one round uses (an SMTP session)."""

    def connect(self) -> contextlib.AbstractContextManager[Connection]: ...

    def describe(self) -> str:
        """For the operator: where mail goes, without any secret."""
        ...


def _smtp_failure(exc: BaseException) -> SendFailed:
    """Classify an exception from ``smtplib`` or the socket; the reply text is dropped."""
    if isinstance(exc, SendFailed):
        return exc
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _text in exc.recipients.values()]
        code = codes[0] if codes else None
        return SendFailed(
            "recipient-refused", code=code, permanent=code is not None and code >= 500
        )
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return SendFailed("auth", code=exc.smtp_code)
    if isinstance(exc, smtplib.SMTPSenderRefused):
        # The sender is the installation's own setting: fixing it fixes every message.
        return SendFailed("sender-refused", code=exc.smtp_code)
    if isinstance(exc, smtplib.SMTPDataError):
        return SendFailed("message-refused", code=exc.smtp_code, permanent=exc.smtp_code >= 500)
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return SendFailed("smtputf8-unsupported")
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return SendFailed("disconnected")
    if isinstance(exc, smtplib.SMTPResponseException):
        return SendFailed("smtp", code=exc.smtp_code)
    if isinstance(exc, ssl.SSLError | ssl.CertificateError):
        return SendFailed("tls")
    if isinstance(exc, TimeoutError | socket.timeout):
        return SendFailed("timeout")
    if isinstance(exc, ConnectionRefusedError | socket.gaierror):
        return SendFailed("connect")
    if isinstance(exc, smtplib.SMTPException):
        return SendFailed("smtp")
    return SendFailed("network")


class _SmtpConnection:
    """One SMTP session, opened at the first message and reopened after a broken one."""

    def __init__(self, transport: SmtpTransport) -> None:
        self._transport = transport
        self._smtp: smtplib.SMTP | None = None

    def send(self, message: EmailMessage, *, sender: str, recipient: str) -> None:
        try:
            if self._smtp is None:
                self._smtp = self._transport.open_smtp()
            self._smtp.send_message(message, from_addr=sender, to_addrs=[recipient])
        except (smtplib.SMTPException, OSError) as exc:
            failure = _smtp_failure(exc)
            if failure.kind not in ("recipient-refused", "message-refused", "sender-refused"):
                # The session is broken or in an unknown state: the next message reconnects.
                self.close()
            raise failure from None

    def close(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is None:
            return
        try:
            smtp.quit()
        except (smtplib.SMTPException, OSError):
            smtp.close()


class SmtpTransport:
    """An SMTP server: ``starttls`` (587), implicit ``tls`` (465) or ``none`` (a local relay);
    login when a user name is set. Certificates are verified against the system's CAs, or
    ``ssl_context`` when given."""

    def __init__(
        self,
        *,
        host: str,
        port: int,
        security: str = "starttls",
        username: str | None = None,
        password: str | None = None,
        timeout: float = 10.0,
        ssl_context: ssl.SSLContext | None = None,
        local_hostname: str | None = None,
    ) -> None:
        if security not in ("starttls", "tls", "none"):
            raise ValueError("security is 'starttls', 'tls' or 'none'")
        self.host = host
        self.port = port
        self.security = security
        self.username = username
        self._password = password
        self.timeout = timeout
        self._ssl_context = ssl_context
        self._local_hostname = local_hostname

    def _context(self) -> ssl.SSLContext:
        return self._ssl_context or ssl.create_default_context()

    def open_smtp(self) -> smtplib.SMTP:
        """A connected, authenticated session (raises ``smtplib`` or socket errors)."""
        smtp: smtplib.SMTP
        if self.security == "tls":
            smtp = smtplib.SMTP_SSL(
                self.host,
                self.port,
                local_hostname=self._local_hostname,
                timeout=self.timeout,
                context=self._context(),
            )
        else:
            smtp = smtplib.SMTP(
                self.host, self.port, local_hostname=self._local_hostname, timeout=self.timeout
            )
        try:
            if self.security == "starttls":
                smtp.ehlo()
                smtp.starttls(context=self._context())
                smtp.ehlo()
            if self.username:
                smtp.login(self.username, self._password or "")
        except BaseException:
            smtp.close()
            raise
        return smtp

    @contextlib.contextmanager
    def connect(self) -> Iterator[Connection]:
        connection = _SmtpConnection(self)
        try:
            yield connection
        finally:
            connection.close()

    def describe(self) -> str:
        who = f", as {self.username}" if self.username else ""
        return f"SMTP {self.host}:{self.port} ({self.security}{who})"

    def __repr__(self) -> str:
        return f"<SmtpTransport {self.describe()}>"


class _DirectoryConnection:
    def __init__(self, directory: Path) -> None:
        self._directory = directory

    def send(self, message: EmailMessage, *, sender: str, recipient: str) -> None:
        international = not (sender + recipient).isascii()
        raw = message.as_bytes(policy=email_policy.SMTP.clone(utf8=international))
        name = message["X-Confiance-Id"] or "message"
        try:
            DirectoryTransport.ensure(self._directory)
            # mkstemp creates the file with mode 0600; the rename makes it appear whole.
            fd, tmp = tempfile.mkstemp(dir=self._directory, prefix=".", suffix=".tmp")
            try:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(raw)
                    handle.flush()
                    os.fsync(handle.fileno())
                Path(tmp).replace(self._directory / f"{name}.eml")
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        except OSError:
            raise SendFailed("directory") from None


class DirectoryTransport:
    """A folder: each message becomes ``<id>.eml`` (RFC 5322, CRLF line ends), mode 0600, in a
    folder of mode 0700. For the demo and development: open the files with any mail reader."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    @staticmethod
    def ensure(directory: Path) -> None:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        directory.chmod(0o700)

    @contextlib.contextmanager
    def connect(self) -> Iterator[Connection]:
        yield _DirectoryConnection(self.directory)

    def describe(self) -> str:
        return f"the folder {self.directory}"

    def __repr__(self) -> str:
        return f"<DirectoryTransport {self.directory}>"


def transport_from_settings(settings: Settings) -> Transport | None:
    """SMTP when ``mail.host`` is set, else a folder when ``mail.directory`` is, else None
    (mail waits in the outbox)."""
    mail = settings.mail
    if mail.host:
        return SmtpTransport(
            host=mail.host,
            port=mail.port,
            security=mail.security,
            username=mail.username,
            password=mail.password.get_secret_value() if mail.password else None,
            timeout=mail.timeout_seconds,
        )
    if mail.directory is not None:
        return DirectoryTransport(mail.directory)
    return None


# -- messages -----------------------------------------------------------------------------------
def _sender_address(sender: str) -> str:
    address = parseaddr(sender)[1]
    if "@" not in address:
        raise ConfigurationError(
            "CONFIANCE__MAIL__SENDER has no address; give one, as 'Name <address@domain>' or "
            "'address@domain'."
        )
    return address


def build_message(
    *,
    message_id: str,
    sender: str,
    recipient: str,
    content: service.Content,
    created_at: datetime,
) -> EmailMessage:
    """The message as sent: the same on every attempt. The transport frames it (CRLF line
    ends, SMTPUTF8 for an internationalised address)."""
    domain = _sender_address(sender).rpartition("@")[2]
    message = EmailMessage(policy=email_policy.default)
    message["From"] = sender
    message["To"] = recipient
    message["Subject"] = content.subject
    message["Date"] = format_datetime(created_at)
    message["Message-ID"] = f"<{message_id}@{domain}>"
    # RFC 3834: an automatic message; vacation responders must not answer it.
    message["Auto-Submitted"] = "auto-generated"
    message["X-Confiance-Id"] = message_id
    # Quoted-printable keeps the body 7-bit (no server needs 8BITMIME) and still readable.
    message.set_content(content.text, charset="utf-8", cte="quoted-printable")
    if content.html is not None:
        message.add_alternative(
            content.html, subtype="html", charset="utf-8", cte="quoted-printable"
        )
    return message


# -- delivery -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class DeliveryReport:
    sent: int = 0
    failed: int = 0
    retried: int = 0

    @property
    def tried(self) -> int:
        return self.sent + self.failed + self.retried

    def __add__(self, other: DeliveryReport) -> DeliveryReport:
        return DeliveryReport(
            self.sent + other.sent, self.failed + other.failed, self.retried + other.retried
        )


@dataclass(frozen=True)
class _Claimed:
    id: str
    recipient_sealed: bytes | None
    message_sealed: bytes | None
    created_at: datetime
    attempt: int


def deliver_due(
    db: Database,
    *,
    keys: KeyringSource,
    settings: Settings,
    transport: Transport | None = None,
    policy: DeliveryPolicy | None = None,
    limit: int = 50,
    rng: random.Random | None = None,
    on_outcome: Callable[[str], None] | None = None,
) -> DeliveryReport:
    """Claim up to ``limit`` due messages, try each once, record the results.

    ``transport`` defaults to :func:`transport_from_settings` (raises
    :class:`MailNotConfigured` when there is none); ``policy`` to :data:`DEFAULT_POLICY` with the
    settings' timeout. ``on_outcome`` hears ``sent``, ``retry``, ``failed`` or ``superseded``
    for each message, in order.
    """
    chosen = transport or transport_from_settings(settings)
    if chosen is None:
        raise MailNotConfigured()
    rules = policy or mail_policy(settings.mail)
    sender = _sender_address(settings.mail.sender)
    chooser = rng or random.SystemRandom()
    items = _claim(db, at=clock.now(), limit=limit, policy=rules)
    if not items:
        return DeliveryReport()
    counts = {"sent": 0, "failed": 0, "retry": 0}
    broken: SendFailed | None = None
    with chosen.connect() as connection:
        for item in items:
            failure: SendFailed | None = broken
            if failure is None:
                try:
                    recipient, message = _open(keys, settings, item)
                    connection.send(message, sender=sender, recipient=recipient)
                except SendFailed as exc:
                    failure = exc
                    if exc.session_wide:
                        broken = exc
            try:
                result = _record(db, item, failure, at=clock.now(), policy=rules, rng=chooser)
            except Exception as exc:
                # The lease runs out and the message is tried again: nothing is lost.
                log.warning("could not record a mail attempt (%s)", type(exc).__name__)
                continue
            if result in counts:
                counts[result] += 1
            if on_outcome is not None:
                on_outcome(result)
    return DeliveryReport(sent=counts["sent"], failed=counts["failed"], retried=counts["retry"])


def _claim(db: Database, *, at: datetime, limit: int, policy: DeliveryPolicy) -> list[_Claimed]:
    with db.transaction() as session:
        connection = session.connection()
        rows = connection.execute(
            select(
                _outbox.c.id,
                _outbox.c.recipient_sealed,
                _outbox.c.message_sealed,
                _outbox.c.created_at,
                _outbox.c.attempts,
            )
            .where(
                _outbox.c.state == "pending",
                _outbox.c.next_attempt_at <= at,
                or_(_outbox.c.claimed_until.is_(None), _outbox.c.claimed_until <= at),
            )
            .order_by(_outbox.c.next_attempt_at, _outbox.c.id)
            .limit(max(1, limit))
            .with_for_update(skip_locked=True)
        ).all()
        if not rows:
            return []
        connection.execute(
            update(_outbox)
            .where(_outbox.c.id.in_([r.id for r in rows]))
            .values(attempts=_outbox.c.attempts + 1, claimed_until=at + policy.lease(len(rows)))
        )
    return [
        _Claimed(
            id=r.id,
            recipient_sealed=r.recipient_sealed,
            message_sealed=r.message_sealed,
            created_at=r.created_at,
            attempt=r.attempts + 1,
        )
        for r in rows
    ]


def _open(keys: KeyringSource, settings: Settings, item: _Claimed) -> tuple[str, EmailMessage]:
    if item.recipient_sealed is None or item.message_sealed is None:
        raise SendFailed("no-content", permanent=True)
    try:
        recipient = service.open_recipient(keys, item.id, item.recipient_sealed)
        content = service.open_content(keys, item.id, item.message_sealed)
    except (DecryptionFailed, ValueError, KeyError):
        log.error("the sealed content of mail %s does not open", item.id)
        raise SendFailed("unreadable") from None
    try:
        message = build_message(
            message_id=item.id,
            sender=settings.mail.sender,
            recipient=recipient,
            content=content,
            created_at=item.created_at,
        )
    except (ValueError, TypeError):
        # A header the email package refuses; its text may quote the value.
        raise SendFailed("malformed") from None
    return recipient, message


def _record(
    db: Database,
    item: _Claimed,
    failure: SendFailed | None,
    *,
    at: datetime,
    policy: DeliveryPolicy,
    rng: random.Random,
) -> str:
    mine = _outbox.c.id == item.id
    pending = _outbox.c.state == "pending"
    wiped: dict[str, Any] = {"recipient_sealed": None, "message_sealed": None}
    with db.transaction() as session:
        connection = session.connection()
        if failure is None:
            # Sent is sent, whoever holds the lease now: the content goes in the same update.
            changed = connection.execute(
                update(_outbox)
                .where(mine, pending)
                .values(state="sent", sent_at=at, last_error=None, claimed_until=None, **wiped)
            ).rowcount
            return "sent" if changed else "superseded"
        final = failure.permanent or item.attempt >= policy.max_attempts
        values: dict[str, Any] = {"last_error": failure.summary[:200], "claimed_until": None}
        if final:
            values |= {"state": "failed", **wiped}
        else:
            values["next_attempt_at"] = at + policy.retry_delay(item.attempt, rng)
        # Only the holder of this claim (same attempt number) reschedules or gives up.
        changed = connection.execute(
            update(_outbox).where(mine, pending, _outbox.c.attempts == item.attempt).values(values)
        ).rowcount
    if not changed:
        return "superseded"
    return "failed" if final else "retry"


# -- the worker ---------------------------------------------------------------------------------
def run_worker(
    db: Database,
    *,
    keys: KeyringSource,
    settings: Settings,
    stop: threading.Event,
    transport: Transport | None = None,
    policy: DeliveryPolicy | None = None,
    limit: int = 50,
    prune_every: float = 3600.0,
    on_outcome: Callable[[str], None] | None = None,
) -> None:
    """Send until ``stop`` is set: a round whenever mail is due, a pause of
    ``settings.mail.poll_seconds`` when none is; every ``prune_every`` seconds, finished
    messages older than ``policy.keep_for`` are deleted (see
    :func:`confiance.background.run_rounds`)."""
    chosen = transport or transport_from_settings(settings)
    if chosen is None:
        raise MailNotConfigured()
    rules = policy or mail_policy(settings.mail)

    def deliver() -> bool:
        report = deliver_due(
            db,
            keys=keys,
            settings=settings,
            transport=chosen,
            policy=rules,
            limit=limit,
            on_outcome=on_outcome,
        )
        return report.tried >= limit

    def prune() -> None:
        with db.transaction() as session:
            service.prune(session, before=clock.now() - rules.keep_for)

    run_rounds(
        stop=stop,
        deliver=deliver,
        prune=prune,
        poll=settings.mail.poll_seconds,
        prune_every=prune_every,
        label="mail",
    )


class MailWorker(DaemonWorker):
    """:func:`run_worker` in a daemon thread, for ``confiance serve``. With no transport
    configured it does not start, says so once in the log, and mail waits in the outbox."""

    def __init__(
        self,
        db: Database,
        *,
        keys: KeyringSource,
        settings: Settings,
        transport: Transport | None = None,
        policy: DeliveryPolicy | None = None,
        limit: int = 50,
    ) -> None:
        self.transport = transport or transport_from_settings(settings)
        chosen = self.transport
        super().__init__(
            lambda stop: run_worker(
                db,
                keys=keys,
                settings=settings,
                stop=stop,
                transport=chosen,
                policy=policy,
                limit=limit,
            ),
            name="confiance-mail",
        )

    def start(self) -> None:
        if self.transport is None:
            log.warning(
                "no mail transport configured (CONFIANCE__MAIL__HOST or CONFIANCE__MAIL__DIRECTORY)"
                "; mail stays in the outbox"
            )
            return
        super().start()
