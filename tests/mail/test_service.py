"""The outbox as emitting domains use it: checks, sealing, discarding, status and log."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from confiance import clock
from confiance.crypto import DecryptionFailed
from confiance.mail import service
from confiance.mail.errors import InvalidMailAddress, MailRejected
from confiance.mail.models import MailMessage
from confiance.runtime import Runtime
from tests.mail.conftest import ManualClock

TEXT = "Bonjour,\n\nVotre code de vérification est 481 207. Il expire dans 15 minutes.\n"


def _enqueue(runtime: Runtime, to: str, **kwargs: object) -> str:
    options: dict[str, object] = {
        "to": to,
        "subject": "Votre code de vérification",
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


def test_a_queued_message_is_sealed_and_bound_to_its_id(runtime: Runtime, address: str) -> None:
    message_id = _enqueue(runtime, address, html="<p>Votre code : <b>481 207</b></p>")
    row = _row(runtime, message_id)
    assert (row.state, row.kind, row.attempts) == ("pending", "rights.code", 0)
    assert row.recipient_sealed is not None and row.message_sealed is not None
    stored = row.recipient_sealed + row.message_sealed
    for plain in (address, "481 207", "vérification", address.split("@")[0]):
        assert plain.encode() not in stored

    assert service.open_recipient(runtime.keys, message_id, row.recipient_sealed) == address
    content = service.open_content(runtime.keys, message_id, row.message_sealed)
    assert (content.subject, content.text) == ("Votre code de vérification", TEXT)
    assert content.html == "<p>Votre code : <b>481 207</b></p>"
    assert "481" not in repr(content)

    other = _enqueue(runtime, address)
    # Sealed for one message and one part: moved elsewhere, it does not open.
    with pytest.raises(DecryptionFailed):
        service.open_recipient(runtime.keys, other, row.recipient_sealed)
    with pytest.raises(DecryptionFailed):
        service.open_content(runtime.keys, message_id, row.recipient_sealed)


def test_message_ids_are_unique_and_sort_by_creation(
    runtime: Runtime, address: str, manual_clock: ManualClock
) -> None:
    ids = []
    for _ in range(5):
        ids.append(_enqueue(runtime, address))
        manual_clock.advance(milliseconds=2)
    assert ids == sorted(ids) and len(set(ids)) == 5
    assert all(i.startswith("mail_") and len(i) <= 40 for i in ids)


def test_the_address_is_normalised(runtime: Runtime) -> None:
    message_id = _enqueue(runtime, "  Zoé.Lefèvre@Boutique-Exemple.EXAMPLE ")
    row = _row(runtime, message_id)
    assert row.recipient_sealed is not None
    opened = service.open_recipient(runtime.keys, message_id, row.recipient_sealed)
    assert opened == "Zoé.Lefèvre@boutique-exemple.example"


@pytest.mark.parametrize(
    "bad",
    [
        "not-an-address",
        "jeanne.dupont@",
        "jeanne dupont@maison.example",
        "jeanne.dupont@localhost",
        "jeanne.dupont@maison.example\r\nBcc: autre@maison.example",
        "jeanne..dupont@maison.example",
        "",
    ],
)
def test_an_invalid_address_is_refused_without_being_echoed(runtime: Runtime, bad: str) -> None:
    with pytest.raises(InvalidMailAddress) as caught:
        _enqueue(runtime, bad)
    error = caught.value
    assert error.code == "invalid-mail-address" and error.status == 422
    assert "Ask the person for it again" in error.detail
    for part in ("jeanne", "dupont", "not-an-address", "autre"):
        assert part not in str(error) and part not in repr(error.to_problem())
    with runtime.db.read() as session:
        assert session.execute(select(MailMessage)).first() is None


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"subject": "Code\r\nBcc: x@maison.example"}, "line breaks"),
        ({"subject": "  "}, "no subject"),
        ({"subject": "x" * 251}, "longer than"),
        ({"text": ""}, "no text part"),
        ({"kind": "Rights Code"}, "its kind"),
        ({"customer_pid": "not a pid!"}, "customer id"),
        ({"text": "é" * 200_000}, "larger than"),
    ],
)
def test_a_malformed_message_is_refused(
    runtime: Runtime, address: str, change: dict[str, object], reason: str
) -> None:
    with pytest.raises(MailRejected) as caught:
        _enqueue(runtime, address, **change)
    assert reason in caught.value.detail
    assert address not in caught.value.detail


def test_a_message_queued_in_a_rolled_back_transaction_does_not_exist(
    runtime: Runtime, address: str
) -> None:
    with pytest.raises(RuntimeError), runtime.db.transaction() as session:
        service.enqueue(
            session, keys=runtime.keys, to=address, subject="Code", text=TEXT, kind="rights.code"
        )
        raise RuntimeError("the change that decided to mail failed")
    with runtime.db.read() as session:
        assert service.status(session).pending == 0


def test_discard_for_customer_drops_only_that_customers_pending_mail(
    runtime: Runtime, address: str
) -> None:
    erased = "0190f5c8-2b7e-7a55-9d1e-000000000001"
    kept = "0190f5c8-2b7e-7a55-9d1e-000000000002"
    gone = [_enqueue(runtime, address, customer_pid=erased) for _ in range(2)]
    other = _enqueue(runtime, address, customer_pid=kept)
    anonymous = _enqueue(runtime, address)
    with runtime.db.transaction() as session:
        assert service.discard_for_customer(session, customer_pid=erased) == 2
        assert service.discard_for_customer(session, customer_pid=erased) == 0
    with runtime.db.read() as session:
        left = {row.id for row in session.execute(select(MailMessage)).scalars()}
    assert left == {other, anonymous} and not left & set(gone)


def test_discard_for_request_drops_a_superseded_code(runtime: Runtime, address: str) -> None:
    request = "5b0e7c1e-8f0c-4a57-9a51-1c7c0c1f2d9e"
    old_code = _enqueue(runtime, address, request_id=request)
    answer = _enqueue(runtime, address, request_id=request, kind="rights.answer")
    with runtime.db.transaction() as session:
        assert service.discard_for_request(session, request_id=request, kind="rights.code") == 1
    with runtime.db.read() as session:
        left = {row.id for row in session.execute(select(MailMessage)).scalars()}
    assert left == {answer} and old_code not in left


def test_status_counts_and_the_log_shows_no_address_or_content(
    runtime: Runtime, address: str, manual_clock: ManualClock
) -> None:
    started = manual_clock.now
    first = _enqueue(runtime, address, request_id="5b0e7c1e-8f0c-4a57-9a51-1c7c0c1f2d9e")
    manual_clock.advance(seconds=1)
    second = _enqueue(runtime, address, kind="rights.answer")
    with runtime.db.transaction() as session:
        row = session.get(MailMessage, second)
        assert row is not None
        row.next_attempt_at = clock.now() + timedelta(minutes=5)
    with runtime.db.read() as session:
        counts = service.status(session)
        entries = service.log(session, limit=10)
        pending_only = service.log(session, state="sent")
    assert (counts.pending, counts.sent, counts.failed, counts.due) == (2, 0, 0, 1)
    assert counts.oldest_pending_at is not None
    assert abs(counts.oldest_pending_at - started) < timedelta(milliseconds=1)
    assert [e.id for e in entries] == [second, first]
    assert entries[1].request_id == "5b0e7c1e-8f0c-4a57-9a51-1c7c0c1f2d9e"
    assert pending_only == []
    shown = repr(entries)
    assert address not in shown and "481" not in shown and "sealed" not in shown


def test_the_log_refuses_an_unknown_state(runtime: Runtime) -> None:
    with runtime.db.read() as session, pytest.raises(MailRejected):
        service.log(session, state="delivered")
