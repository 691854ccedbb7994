"""Delivery to a real SMTP server on loopback (aiosmtpd): headers, wiping, retries, leases."""

from __future__ import annotations

import random
import shutil
import ssl
import stat
import subprocess
import threading
from collections.abc import Callable, Iterator
from datetime import timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import parseaddr, parsedate_to_datetime
from pathlib import Path

import pytest
from sqlalchemy import select, update

from confiance.config import Settings
from confiance.errors import ConfigurationError
from confiance.mail import delivery, service
from confiance.mail.errors import MailNotConfigured
from confiance.mail.models import MailMessage
from confiance.runtime import Runtime
from tests.mail.conftest import POLICY, ManualClock
from tests.mail.smtp import Delivered, SmtpServer, smtp_server
from tests.support import free_port

SUBJECT = "Votre code de vérification – Maison Exemple"
TEXT = (
    "Bonjour Hélène,\n\n"
    "Voici le code à saisir pour confirmer votre demande d'accès : 481 207.\n"
    "Il expire dans 15 minutes. Si vous n'êtes pas à l'origine de cette demande, ignorez ce "
    "message.\n\n— L'équipe de Maison Exemple\n"
)
HTML = "<p>Voici le code à saisir : <strong>481 207</strong>. Il expire dans 15 minutes.</p>"

Deliver = Callable[..., delivery.DeliveryReport]


def _enqueue(runtime: Runtime, to: str, **kwargs: object) -> str:
    options: dict[str, object] = {
        "to": to,
        "subject": SUBJECT,
        "text": TEXT,
        "kind": "rights.code",
    } | kwargs
    with runtime.db.transaction() as session:
        return service.enqueue(session, keys=runtime.keys, **options)  # type: ignore[arg-type]


def _row(runtime: Runtime, message_id: str) -> MailMessage:
    with runtime.db.transaction() as session:
        row = session.get(MailMessage, message_id)
    assert row is not None
    return row


def _body(message: EmailMessage, subtype: str) -> str:
    part = message.get_body(preferencelist=(subtype,))
    assert part is not None
    content = part.get_content()
    assert isinstance(content, str)
    # On the wire, text has CRLF line ends (RFC 5322).
    return content.replace("\r\n", "\n")


def test_a_queued_message_arrives_with_its_headers_and_is_wiped(
    runtime: Runtime, smtp: SmtpServer, deliver: Deliver, address: str
) -> None:
    message_id = _enqueue(runtime, address, html=HTML)
    report = deliver()
    assert (report.sent, report.failed, report.retried) == (1, 0, 0)

    [message] = smtp.wait_for(1)
    [received] = smtp.received
    assert received.rcpt_tos == [address] and received.mail_from == "contact@maison.example"
    assert parseaddr(str(message["From"])) == ("Maison Exemple", "contact@maison.example")
    assert str(message["To"]) == address
    assert str(message["Subject"]) == SUBJECT
    assert message["Message-ID"] == f"<{message_id}@maison.example>"
    assert message["Auto-Submitted"] == "auto-generated"
    sent_date = parsedate_to_datetime(str(message["Date"]))
    assert abs(sent_date - _row(runtime, message_id).created_at) < timedelta(seconds=1)
    assert message.get_content_type() == "multipart/alternative"
    assert _body(message, "plain") == TEXT
    assert _body(message, "html").strip() == HTML
    plain = message.get_body(preferencelist=("plain",))
    assert plain is not None and plain.get_content_charset() == "utf-8"

    row = _row(runtime, message_id)
    assert (row.state, row.attempts, row.last_error) == ("sent", 1, None)
    assert row.sent_at is not None and row.claimed_until is None
    assert row.recipient_sealed is None and row.message_sealed is None

    # Sent once: the next round finds nothing.
    assert deliver().tried == 0
    assert len(smtp.received) == 1


def test_a_text_only_message_is_a_single_utf8_part(
    runtime: Runtime, smtp: SmtpServer, deliver: Deliver, address: str
) -> None:
    _enqueue(runtime, address)
    deliver()
    [message] = smtp.wait_for(1)
    assert message.get_content_type() == "text/plain"
    assert message.get_content_charset() == "utf-8"
    assert _body(message, "plain") == TEXT
    assert message["Content-Transfer-Encoding"] == "quoted-printable"


def test_an_internationalised_address_is_sent_with_smtputf8(
    runtime: Runtime, smtp: SmtpServer, deliver: Deliver
) -> None:
    to = "zoé.lefèvre@boutique-exemple.example"
    _enqueue(runtime, to)
    assert deliver().sent == 1
    [received] = [smtp.wait_for(1) and smtp.received[0]]
    assert received.rcpt_tos == [to]
    assert str(received.message["To"]) == to


def test_a_message_of_a_rolled_back_transaction_is_never_sent(
    runtime: Runtime, smtp: SmtpServer, deliver: Deliver, address: str
) -> None:
    with pytest.raises(RuntimeError), runtime.db.transaction() as session:
        service.enqueue(
            session, keys=runtime.keys, to=address, subject=SUBJECT, text=TEXT, kind="rights.code"
        )
        raise RuntimeError("storing the code failed")
    assert deliver().tried == 0
    assert smtp.received == [] and smtp.connections == 0


def test_a_temporary_refusal_is_retried_with_growing_delays(
    runtime: Runtime,
    smtp: SmtpServer,
    deliver: Deliver,
    address: str,
    manual_clock: ManualClock,
) -> None:
    message_id = _enqueue(runtime, address)
    smtp.refuse_recipient(
        f"450 4.2.1 <{address}>: Recipient address rejected: try again later",
        "451 4.3.0 Temporary lookup failure",
    )
    assert deliver().retried == 1
    row = _row(runtime, message_id)
    assert (row.state, row.attempts) == ("pending", 1)
    assert row.last_error == "recipient-refused 450"
    assert row.next_attempt_at == manual_clock.now + timedelta(seconds=30)
    assert row.recipient_sealed is not None  # still to send

    manual_clock.advance(seconds=29)
    assert deliver().tried == 0  # not due yet
    manual_clock.advance(seconds=1)
    assert deliver().retried == 1
    row = _row(runtime, message_id)
    assert row.attempts == 2 and row.last_error == "recipient-refused 451"
    assert row.next_attempt_at == manual_clock.now + timedelta(seconds=120)

    manual_clock.advance(seconds=120)
    assert deliver().sent == 1
    assert len(smtp.wait_for(1)) == 1
    row = _row(runtime, message_id)
    assert (row.state, row.attempts, row.last_error) == ("sent", 3, None)


def test_jitter_spreads_the_retries(
    runtime: Runtime, smtp: SmtpServer, deliver: Deliver, address: str, manual_clock: ManualClock
) -> None:
    ids = [_enqueue(runtime, address) for _ in range(6)]
    smtp.refuse_data(*["421 4.7.0 Try again later"] * 6)
    jittery = delivery.DeliveryPolicy(retry_delays=(100.0,), max_attempts=3, jitter=0.2)
    assert deliver(policy=jittery).retried == 6
    delays = {(_row(runtime, i).next_attempt_at - manual_clock.now).total_seconds() for i in ids}
    assert all(80.0 <= d <= 120.0 for d in delays)
    assert len(delays) > 1


def test_a_message_still_refused_after_the_last_attempt_fails_and_is_wiped(
    runtime: Runtime, smtp: SmtpServer, deliver: Deliver, address: str, manual_clock: ManualClock
) -> None:
    message_id = _enqueue(runtime, address)
    smtp.refuse_recipient(*["452 4.2.2 Mailbox full"] * POLICY.max_attempts)
    outcomes: list[str] = []
    for _ in range(POLICY.max_attempts):
        deliver(on_outcome=outcomes.append)
        manual_clock.advance(hours=1)
    assert outcomes == ["retry"] * (POLICY.max_attempts - 1) + ["failed"]
    row = _row(runtime, message_id)
    assert (row.state, row.attempts) == ("failed", POLICY.max_attempts)
    assert row.last_error == "recipient-refused 452"
    assert row.recipient_sealed is None and row.message_sealed is None
    assert deliver().tried == 0 and smtp.received == []


def test_a_permanent_refusal_fails_at_once_without_keeping_the_servers_words(
    runtime: Runtime, smtp: SmtpServer, deliver: Deliver, address: str
) -> None:
    message_id = _enqueue(runtime, address)
    smtp.refuse_recipient(f"550 5.1.1 <{address}>: Recipient address rejected: User unknown")
    assert deliver().failed == 1
    row = _row(runtime, message_id)
    assert (row.state, row.attempts) == ("failed", 1)
    assert row.last_error == "recipient-refused 550"
    assert row.recipient_sealed is None and row.message_sealed is None
    with runtime.db.read() as session:
        shown = repr(service.log(session)) + repr(service.status(session))
    assert address not in shown and address.split("@")[0] not in shown
    assert "unknown" not in shown.lower()


def test_a_refused_message_does_not_stop_the_others_on_the_same_connection(
    runtime: Runtime, smtp: SmtpServer, deliver: Deliver, address: str
) -> None:
    refused = _enqueue(runtime, address)
    accepted = _enqueue(runtime, address)
    smtp.refuse_data("554 5.7.1 Message rejected as spam")
    report = deliver()
    assert (report.sent, report.failed) == (1, 1)
    assert _row(runtime, refused).last_error == "message-refused 554"
    assert _row(runtime, accepted).state == "sent"
    assert smtp.connections == 1


def test_an_unreachable_server_is_retried_and_the_round_stops_at_the_first_failure(
    runtime: Runtime, mail_settings: Settings, deliver: Deliver, address: str
) -> None:
    ids = [_enqueue(runtime, address) for _ in range(3)]
    away = mail_settings.model_copy(
        update={"mail": mail_settings.mail.model_copy(update={"port": free_port()})}
    )
    report = deliver(settings=away)
    assert report.retried == 3
    assert {_row(runtime, i).last_error for i in ids} == {"connect"}


def test_the_mail_server_is_talked_to_outside_any_database_transaction(
    runtime: Runtime, smtp: SmtpServer, deliver: Deliver, address: str
) -> None:
    message_id = _enqueue(runtime, address)
    wrote: list[bool] = []

    def write_meanwhile(_delivered: Delivered) -> None:
        # Another writer touches the very row while the server holds the message: this blocks
        # if the worker kept its claim's transaction (or any write transaction) open.
        done = threading.Event()

        def write() -> None:
            with runtime.db.transaction() as session:
                session.execute(
                    update(MailMessage)
                    .where(MailMessage.id == message_id)
                    .values(kind="rights.code")
                )
            done.set()

        threading.Thread(target=write, daemon=True).start()
        wrote.append(done.wait(3.0))

    smtp.on_message = write_meanwhile
    assert deliver().sent == 1
    assert wrote == [True]


def test_a_claimed_message_is_not_sent_twice_and_comes_back_when_its_lease_runs_out(
    runtime: Runtime,
    smtp: SmtpServer,
    deliver: Deliver,
    address: str,
    manual_clock: ManualClock,
) -> None:
    message_id = _enqueue(runtime, address)
    # A worker claims the message, then dies before sending it.
    [claimed] = delivery._claim(runtime.db, at=manual_clock.now, limit=10, policy=POLICY)
    assert claimed.id == message_id and claimed.attempt == 1
    lease = _row(runtime, message_id).claimed_until
    assert lease is not None and lease > manual_clock.now

    assert deliver().tried == 0  # held by the dead worker's lease
    manual_clock.advance(seconds=(lease - manual_clock.now).total_seconds())
    assert deliver().sent == 1
    assert len(smtp.wait_for(1)) == 1
    assert _row(runtime, message_id).attempts == 2


def test_a_worker_that_outlived_its_lease_does_not_reschedule_another_workers_claim(
    runtime: Runtime, address: str, manual_clock: ManualClock
) -> None:
    message_id = _enqueue(runtime, address)
    [slow] = delivery._claim(runtime.db, at=manual_clock.now, limit=1, policy=POLICY)
    manual_clock.advance(hours=1)
    [fast] = delivery._claim(runtime.db, at=manual_clock.now, limit=1, policy=POLICY)
    assert (slow.attempt, fast.attempt) == (1, 2)
    late = delivery._record(
        runtime.db,
        slow,
        delivery.SendFailed("timeout"),
        at=manual_clock.now,
        policy=POLICY,
        rng=random.Random(1),
    )
    assert late == "superseded"
    row = _row(runtime, message_id)
    assert row.attempts == 2 and row.last_error is None and row.claimed_until is not None


def test_concurrent_rounds_send_each_message_once(
    runtime: Runtime, smtp: SmtpServer, deliver: Deliver, address: str
) -> None:
    ids = {_enqueue(runtime, address, kind="rights.answer") for _ in range(12)}
    reports: list[delivery.DeliveryReport] = []
    lock = threading.Lock()
    start = threading.Barrier(3)

    def run() -> None:
        start.wait()
        while True:
            report = deliver(limit=2)
            with lock:
                reports.append(report)
            if report.tried == 0:
                return

    threads = [threading.Thread(target=run) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    messages = smtp.wait_for(12)
    sent_ids = [str(m["Message-ID"]).strip("<>").split("@")[0] for m in messages]
    assert sorted(sent_ids) == sorted(ids)
    assert sum(r.sent for r in reports) == 12


def test_the_directory_transport_writes_one_private_eml_per_message(
    runtime: Runtime, settings: Settings, address: str, tmp_path: Path
) -> None:
    folder = tmp_path / "demo-mail"
    local = settings.model_copy(
        update={"mail": settings.mail.model_copy(update={"directory": folder})}
    )
    transport = delivery.transport_from_settings(local)
    assert isinstance(transport, delivery.DirectoryTransport)
    message_id = _enqueue(runtime, address, html=HTML)
    report = delivery.deliver_due(runtime.db, keys=runtime.keys, settings=local, policy=POLICY)
    assert report.sent == 1

    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    [file] = list(folder.iterdir())
    assert file.name == f"{message_id}.eml"
    assert stat.S_IMODE(file.stat().st_mode) == 0o600
    raw = file.read_bytes()
    assert b"\r\n" in raw
    message = message_from_bytes(raw, policy=policy.default)
    assert isinstance(message, EmailMessage)
    assert str(message["To"]) == address and str(message["Subject"]) == SUBJECT
    assert _body(message, "plain") == TEXT
    assert _row(runtime, message_id).message_sealed is None


def test_an_unwritable_directory_is_retried(
    runtime: Runtime, settings: Settings, address: str, tmp_path: Path
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    local = settings.model_copy(
        update={"mail": settings.mail.model_copy(update={"directory": blocker / "mail"})}
    )
    message_id = _enqueue(runtime, address)
    report = delivery.deliver_due(runtime.db, keys=runtime.keys, settings=local, policy=POLICY)
    assert report.retried == 1
    assert _row(runtime, message_id).last_error == "directory"


def test_which_transport_the_settings_choose(settings: Settings, tmp_path: Path) -> None:
    assert delivery.transport_from_settings(settings) is None
    both = settings.model_copy(
        update={
            "mail": settings.mail.model_copy(
                update={"host": "smtp.maison.example", "directory": tmp_path, "port": 465}
            )
        }
    )
    chosen = delivery.transport_from_settings(both)
    assert isinstance(chosen, delivery.SmtpTransport)
    assert chosen.describe() == "SMTP smtp.maison.example:465 (starttls)"


def test_without_a_transport_delivery_says_what_to_set(
    runtime: Runtime, settings: Settings, address: str
) -> None:
    _enqueue(runtime, address)
    with pytest.raises(MailNotConfigured) as caught:
        delivery.deliver_due(runtime.db, keys=runtime.keys, settings=settings)
    assert "CONFIANCE__MAIL__HOST" in caught.value.detail
    worker = delivery.MailWorker(runtime.db, keys=runtime.keys, settings=settings)
    worker.start()
    assert not worker.running
    worker.stop()


def test_a_sender_without_an_address_is_a_configuration_error(
    runtime: Runtime, mail_settings: Settings, address: str
) -> None:
    _enqueue(runtime, address)
    nameless = mail_settings.model_copy(
        update={"mail": mail_settings.mail.model_copy(update={"sender": "Maison Exemple"})}
    )
    with pytest.raises(ConfigurationError) as caught:
        delivery.deliver_due(runtime.db, keys=runtime.keys, settings=nameless)
    assert "CONFIANCE__MAIL__SENDER" in caught.value.detail


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1, made by the openssl command."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("the openssl command is needed to make a test certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


@pytest.fixture
def tls_server(certificate: tuple[Path, Path]) -> Iterator[SmtpServer]:
    cert, key = certificate
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    with smtp_server(tls_context=context, credentials=("confiance", "mot-de-passe")) as server:
        yield server


def test_starttls_and_login(
    runtime: Runtime,
    tls_server: SmtpServer,
    address: str,
    certificate: tuple[Path, Path],
    manual_clock: ManualClock,
) -> None:
    settings = tls_server.configure(runtime.settings, security="starttls")
    trusting = ssl.create_default_context(cafile=str(certificate[0]))

    def transport(password: str) -> delivery.SmtpTransport:
        return delivery.SmtpTransport(
            host=tls_server.host,
            port=tls_server.port,
            security="starttls",
            username="confiance",
            password=password,
            timeout=5.0,
            ssl_context=trusting,
        )

    message_id = _enqueue(runtime, address)
    wrong = delivery.deliver_due(
        runtime.db,
        keys=runtime.keys,
        settings=settings,
        transport=transport("faux"),
        policy=POLICY,
    )
    assert wrong.retried == 1
    assert _row(runtime, message_id).last_error == "auth 535"

    # The system's CAs do not know the test certificate: refused, as a man in the middle is.
    untrusted = delivery.SmtpTransport(
        host=tls_server.host, port=tls_server.port, security="starttls", timeout=5.0
    )
    manual_clock.advance(hours=1)
    refused = delivery.deliver_due(
        runtime.db, keys=runtime.keys, settings=settings, transport=untrusted, policy=POLICY
    )
    assert refused.retried == 1 and _row(runtime, message_id).last_error == "tls"

    manual_clock.advance(hours=1)
    right = delivery.deliver_due(
        runtime.db,
        keys=runtime.keys,
        settings=settings,
        transport=transport("mot-de-passe"),
        policy=POLICY,
    )
    assert right.sent == 1
    [received] = [tls_server.wait_for(1) and tls_server.received[0]]
    assert received.authenticated_as == "confiance"
    assert received.rcpt_tos == [address]


def test_the_worker_sends_until_stopped(
    runtime: Runtime, smtp: SmtpServer, mail_settings: Settings, address: str
) -> None:
    fast = mail_settings.model_copy(
        update={"mail": mail_settings.mail.model_copy(update={"poll_seconds": 0.05})}
    )
    worker = delivery.MailWorker(runtime.db, keys=runtime.keys, settings=fast, policy=POLICY)
    worker.start()
    try:
        assert worker.running
        first = _enqueue(runtime, address)
        smtp.wait_for(1)
        second = _enqueue(runtime, address)
        smtp.wait_for(2)
    finally:
        worker.stop()
    assert not worker.running
    with runtime.db.read() as session:
        states = {r.id: r.state for r in session.execute(select(MailMessage.id, MailMessage.state))}
    assert states == {first: "sent", second: "sent"}
