"""Privacy center sign-in and feedback, through the service, on both databases."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest

from confiance.actors import Actor
from confiance.portal.errors import FeedbackInvalid, NothingHeld, NotSignedIn
from confiance.portal.service import PortalSignedIn
from confiance.rights.errors import CodeRejected, TooManyCodes
from confiance.runtime import Runtime
from confiance.staff.roles import actor_for
from tests.rights.test_service import mails_to
from tests.support import ManualClock

OPERATOR = Actor.operator("test")
EMAIL = "louise.perrin@courriel.example"


@pytest.fixture
def louise(runtime: Runtime, make_record: Any) -> uuid.UUID:
    record = make_record()
    record["email"] = EMAIL
    with runtime.unit(OPERATOR) as s:
        return runtime.vault.collect(
            s, actor=OPERATOR, purposes=make_record.purposes, values=record
        ).id


def code_sent_to(runtime: Runtime, email: str) -> str:
    sent = [
        m for m in mails_to(runtime, email) if "connexion" in m.subject or "sign-in" in m.subject
    ]
    match = re.search(r"\b(\d{6})\b", sent[-1].text)
    assert match is not None
    return match.group(1)


def sign_in(runtime: Runtime, email: str, code: str) -> Any:
    with runtime.db.transaction() as s:
        return runtime.portal.sign_in(s, email=email, code=code, language="fr")


def request_code(runtime: Runtime, email: str) -> None:
    with runtime.db.transaction() as s:
        runtime.portal.request_code(s, email=email, language="fr")


def test_a_customer_signs_in_with_the_code(runtime: Runtime, louise: uuid.UUID) -> None:
    request_code(runtime, EMAIL)
    signed = sign_in(runtime, EMAIL.upper(), code_sent_to(runtime, EMAIL))
    assert isinstance(signed, PortalSignedIn) and signed.customer_id == louise
    with runtime.db.transaction() as s:
        assert runtime.portal.current(s, token=signed.token).customer_id == louise
        assert runtime.portal.contact(s, token=signed.token).lower() == EMAIL
        runtime.portal.sign_out(s, token=signed.token)
    with runtime.db.transaction() as s, pytest.raises(NotSignedIn):
        runtime.portal.current(s, token=signed.token)


def test_unknown_addresses_get_a_code_and_then_nothing(runtime: Runtime, louise: uuid.UUID) -> None:
    request_code(runtime, "nobody@courriel.example")
    assert mails_to(runtime, "nobody@courriel.example")  # sent, as for anyone
    assert isinstance(
        sign_in(
            runtime, "nobody@courriel.example", code_sent_to(runtime, "nobody@courriel.example")
        ),
        NothingHeld,
    )


def test_wrong_codes_count_and_a_code_works_once(runtime: Runtime, louise: uuid.UUID) -> None:
    request_code(runtime, EMAIL)
    code = code_sent_to(runtime, EMAIL)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    first = sign_in(runtime, EMAIL, wrong)
    assert isinstance(first, CodeRejected)
    assert isinstance(sign_in(runtime, EMAIL, code), PortalSignedIn)
    assert isinstance(sign_in(runtime, EMAIL, code), CodeRejected)


def test_codes_expire_and_are_limited(
    runtime: Runtime, louise: uuid.UUID, manual_clock: ManualClock
) -> None:
    request_code(runtime, EMAIL)
    code = code_sent_to(runtime, EMAIL)
    manual_clock.advance(minutes=runtime.settings.rights.code_ttl_minutes, seconds=1)
    assert isinstance(sign_in(runtime, EMAIL, code), CodeRejected)
    for _ in range(runtime.settings.rights.codes_per_hour - 1):
        request_code(runtime, EMAIL)
    with pytest.raises(TooManyCodes):
        request_code(runtime, EMAIL)


def test_an_erased_customer_can_no_longer_sign_in(runtime: Runtime, louise: uuid.UUID) -> None:
    request_code(runtime, EMAIL)
    signed = sign_in(runtime, EMAIL, code_sent_to(runtime, EMAIL))
    assert isinstance(signed, PortalSignedIn)
    with runtime.unit(OPERATOR) as s:
        runtime.eraser.erase(s, customer_id=louise, actor=OPERATOR)
    with runtime.db.transaction() as s, pytest.raises(NotSignedIn):
        runtime.portal.current(s, token=signed.token)
    request_code(runtime, EMAIL)
    assert isinstance(sign_in(runtime, EMAIL, code_sent_to(runtime, EMAIL)), NothingHeld)


def test_complaints_are_sealed_and_read_by_the_dpo_only(
    runtime: Runtime, louise: uuid.UUID
) -> None:
    request_code(runtime, EMAIL)
    signed = sign_in(runtime, EMAIL, code_sent_to(runtime, EMAIL))
    text = "Vous m'avez écrit alors que j'avais tout refusé. <b>Inadmissible</b>"
    with runtime.db.transaction() as s:
        runtime.portal.complain(s, signed=signed, topic="consent", text=text, language="fr")
        with pytest.raises(FeedbackInvalid):
            runtime.portal.complain(s, signed=signed, topic="weather", text="x", language="fr")
    with runtime.db.transaction() as s:
        [complaint] = runtime.portal.complaints(s, actor=actor_for("dpo", "d"))
        assert complaint.text == text and complaint.customer_pid == str(louise)
        with pytest.raises(Exception) as info:
            runtime.portal.complaints(s, actor=actor_for("marketing", "m"))
    assert getattr(info.value, "code", None) == "scope-not-granted"
    from sqlalchemy import select

    from confiance.portal.models import Complaint

    with runtime.db.transaction() as s:
        sealed = s.execute(select(Complaint.text_sealed)).scalar_one()
    assert b"Inadmissible" not in sealed


def test_survey_scores_are_checked_and_summarised(runtime: Runtime) -> None:
    with runtime.db.transaction() as s:
        runtime.portal.answer_survey(
            s, signed=None, trust=4, clarity=5, control=3, comment="Clair", language="fr"
        )
        runtime.portal.answer_survey(
            s, signed=None, trust=2, clarity=3, control=5, comment=None, language="en"
        )
        with pytest.raises(FeedbackInvalid):
            runtime.portal.answer_survey(
                s, signed=None, trust=6, clarity=1, control=1, comment=None, language="fr"
            )
    with runtime.db.transaction() as s:
        summary = runtime.portal.survey_summary(s, actor=actor_for("marketing", "m"))
    assert summary == {"answers": 2, "trust": 3.0, "clarity": 4.0, "control": 4.0}


def test_a_signed_in_customer_asks_without_another_code(
    runtime: Runtime, louise: uuid.UUID
) -> None:
    request_code(runtime, EMAIL)
    signed = sign_in(runtime, EMAIL, code_sent_to(runtime, EMAIL))
    with runtime.db.transaction() as s:
        view = runtime.rights.submit_verified(
            s,
            kind="opt_out_sale",
            email=runtime.portal.contact(s, token=signed.token),
            customer_id=signed.customer_id,
            actor=signed.actor,
        )
    assert view.status == "completed" and view.channel == "privacy_center"
