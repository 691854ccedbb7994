"""A real SMTP server on loopback (aiosmtpd), for any test that sends mail.

Use it as a context manager::

    from tests.mail.smtp import smtp_server

    with smtp_server() as smtp:
        settings = smtp.configure(settings)       # CONFIANCE__MAIL__HOST/PORT, no TLS
        ...                                       # send
        [message] = smtp.wait_for(1)              # an email.message.EmailMessage

or as the ``smtp`` pytest fixture, which a conftest makes available with
``from tests.mail.smtp import smtp  # noqa: F401``.

The server listens on a free port of 127.0.0.1, accepts SMTPUTF8 and can refuse: queue replies
with :meth:`SmtpServer.refuse_recipient` or :meth:`SmtpServer.refuse_data` (``"451 4.3.0 Try
again later"``), consumed one per message; with none queued it accepts.
"""

from __future__ import annotations

import email
import email.policy
import ssl
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from confiance.config import Settings

__all__ = ["Delivered", "SmtpServer", "smtp", "smtp_server"]


@dataclass(frozen=True)
class Delivered:
    """One message as the server received it."""

    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage
    raw: bytes
    authenticated_as: str | None


class SmtpServer:
    """What the server received and how it answers; see the module's docstring."""

    def __init__(self) -> None:
        self.host = "127.0.0.1"
        self.port = 0
        self.received: list[Delivered] = []
        self.rcpt_replies: deque[str] = deque()
        self.data_replies: deque[str] = deque()
        self.connections = 0
        #: Called in the server's thread with each accepted message, before the reply is sent.
        self.on_message: Callable[[Delivered], None] | None = None
        self._lock = threading.Lock()

    # -- what the tests say ---------------------------------------------------------------------
    def refuse_recipient(self, *replies: str) -> None:
        """The next RCPT commands get these replies (``"550 5.1.1 No such user"``)."""
        self.rcpt_replies.extend(replies)

    def refuse_data(self, *replies: str) -> None:
        """The next messages are refused after DATA with these replies."""
        self.data_replies.extend(replies)

    def configure(self, settings: Settings, **mail: Any) -> Settings:
        """``settings`` pointed at this server (no TLS unless ``mail`` says otherwise)."""
        values = {"host": self.host, "port": self.port, "security": "none", "directory": None}
        values |= mail
        return settings.model_copy(
            update={"mail": settings.mail.model_copy(update=values)}, deep=True
        )

    @property
    def messages(self) -> list[EmailMessage]:
        with self._lock:
            return [d.message for d in self.received]

    def wait_for(self, count: int, timeout: float = 10.0) -> list[EmailMessage]:
        """At least ``count`` messages, waiting for the server's thread to store them."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if len(self.received) >= count:
                    return [d.message for d in self.received]
            time.sleep(0.01)
        raise AssertionError(f"expected {count} messages, the server received {len(self.received)}")

    # -- the aiosmtpd handler -------------------------------------------------------------------
    async def handle_RCPT(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        with self._lock:
            reply = self.rcpt_replies.popleft() if self.rcpt_replies else None
        if reply is not None:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        with self._lock:
            reply = self.data_replies.popleft() if self.data_replies else None
        if reply is not None:
            return reply
        raw = envelope.content if isinstance(envelope.content, bytes) else b""
        parsed = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        login = session.auth_data.login if isinstance(session.auth_data, LoginPassword) else None
        delivered = Delivered(
            mail_from=str(envelope.mail_from),
            rcpt_tos=list(envelope.rcpt_tos),
            message=parsed,
            raw=raw,
            authenticated_as=login.decode() if isinstance(login, bytes) else None,
        )
        if self.on_message is not None:
            self.on_message(delivered)
        with self._lock:
            self.received.append(delivered)
        return "250 Message accepted for delivery"

    async def handle_EHLO(
        self, server: SMTP, session: Session, envelope: Envelope, hostname: str, responses: Any
    ) -> Any:
        with self._lock:
            self.connections += 1
        session.host_name = hostname
        return responses


class _Controller(Controller):
    """A controller on port 0: the port the system chose is read back before the readiness
    probe connects to it (aiosmtpd would otherwise probe port 0)."""

    def _trigger_server(self) -> None:
        assert self.server is not None
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


@contextmanager
def smtp_server(
    *,
    tls_context: ssl.SSLContext | None = None,
    credentials: tuple[str, str] | None = None,
) -> Iterator[SmtpServer]:
    """A running server; ``tls_context`` offers STARTTLS (and requires it), ``credentials``
    requires this login."""
    state = SmtpServer()
    options: dict[str, Any] = {"enable_SMTPUTF8": True}
    if tls_context is not None:
        options |= {"tls_context": tls_context, "require_starttls": True}
    if credentials is not None:
        user, password = credentials

        def authenticate(
            server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
        ) -> AuthResult:
            ok = (
                isinstance(data, LoginPassword)
                and data.login == user.encode()
                and data.password == password.encode()
            )
            return AuthResult(success=ok, handled=False, auth_data=data if ok else None)

        options |= {"authenticator": authenticate, "auth_require_tls": tls_context is not None}
    controller = _Controller(state, hostname=state.host, port=0, **options)
    controller.start()
    state.port = controller.port
    try:
        yield state
    finally:
        controller.stop()


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    """A real SMTP server on loopback, accepting every message (see :func:`smtp_server`)."""
    with smtp_server() as server:
        yield server
