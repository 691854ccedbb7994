"""Operators rewrite exactly the characters found, and the free-text policy of the vault."""

from __future__ import annotations

import pytest

from confiance.pii import (
    EntityType,
    Finding,
    FreeTextAction,
    FreeTextPolicy,
    Operator,
    Scanner,
    anonymize,
    mask,
    redact,
    replace,
    scan_free_text,
)

TEXT = "Écrire à lea@exemple.example ou au 06 12 34 56 78."
EMAIL = Finding(EntityType.EMAIL, 9, 28, 1.0, "email")
PHONE = Finding(EntityType.PHONE, 35, 49, 0.9, "phone")


def test_offsets_used_below_are_the_values() -> None:
    assert TEXT[EMAIL.start : EMAIL.end] == "lea@exemple.example"
    assert TEXT[PHONE.start : PHONE.end] == "06 12 34 56 78"


def test_redact_removes() -> None:
    assert redact(TEXT, [EMAIL, PHONE]) == "Écrire à  ou au ."


def test_replace_puts_the_type() -> None:
    assert replace(TEXT, [PHONE, EMAIL]) == "Écrire à <email> ou au <phone>."


def test_mask_keeps_separators_and_the_last_characters() -> None:
    assert mask(TEXT, [EMAIL, PHONE]) == "Écrire à ***@*******.******* ou au ** ** ** ** **."
    assert mask(TEXT, [PHONE], mask_char="#", keep_last=2) == (
        "Écrire à lea@exemple.example ou au ## ## ## ## 78."
    )


def test_overlapping_findings_are_refused() -> None:
    inner = Finding(EntityType.PERSON, 9, 12, 0.8, "spacy")
    with pytest.raises(ValueError, match="overlap"):
        anonymize(TEXT, [EMAIL, inner], Operator.MASK)


def test_scan_free_text_and_redacting_policy_on_tickets(scanner: Scanner) -> None:
    ticket = "Madame Durand demande le remboursement sur FR14 2004 1010 0505 0001 3M02 606."
    findings = scan_free_text(ticket, language="fr")
    assert {f.entity for f in findings} == {EntityType.PERSON, EntityType.IBAN}

    value = [{"subject": "Remboursement", "body": ticket}, {"body": "Merci !", "rating": 5}]
    outcome = FreeTextPolicy(action=FreeTextAction.REDACT).apply(value)
    assert outcome.changed
    assert outcome.value == [
        {"subject": "Remboursement",
         "body": "Madame <person> demande le remboursement sur <iban>."},
        {"body": "Merci !", "rating": 5},
    ]  # fmt: skip
    assert outcome.counts() == {"iban": 1, "person": 1}
    assert outcome.summary() == "iban:1,person:1"
    assert {path for path, _ in outcome.findings} == {"[0].body"}
    # The original value is left untouched.
    assert value[0]["body"] == ticket


def test_flagging_policy_keeps_the_value(scanner: Scanner) -> None:
    text = "Rappelez Léa au 06 12 34 56 78."
    outcome = FreeTextPolicy().apply(text)
    assert outcome.value == text
    assert not outcome.changed
    assert outcome.counts()["phone"] == 1
    assert outcome.action is FreeTextAction.FLAG


def test_policy_limited_to_some_entities(scanner: Scanner) -> None:
    policy = FreeTextPolicy(
        action=FreeTextAction.REDACT, operator=Operator.MASK, entities=frozenset({EntityType.PHONE})
    )
    outcome = policy.apply("Madame Durand, 06 12 34 56 78")
    assert outcome.value == "Madame Durand, ** ** ** ** **"
    assert outcome.counts() == {"phone": 1}
