"""Receipts as a customer and a third party rely on them: valid Kantara v1.1 documents that
say what changed, under which notice, and that nobody can alter unnoticed."""

from __future__ import annotations

import copy
from datetime import datetime
from typing import Any

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from confiance.crypto import Keyring, Secret, SignatureInvalid, Signer, sign_jws
from confiance.manifest.checks import parse_manifest
from confiance.manifest.errors import UnknownPurpose
from confiance.manifest.schemas import LegalBasis, Manifest
from confiance.receipts import (
    KANTARA_VERSION,
    RECEIPT_TYP,
    ReceiptChange,
    ReceiptInvalid,
    ReceiptKey,
    sign,
    verify,
)
from tests.receipts.conftest import (
    ISSUED_AT,
    KANTARA_EXAMPLE,
    SUBJECT,
    Build,
    load_kantara_json,
)

# A small fictional manifest with a sensitive field (GDPR art. 9), which the example lacks.
SENSITIVE_MANIFEST = """
version: 1
controller:
  name: Pharmacie Fictive SARL
  address: 3 place du Marché, 33000 Bordeaux, France
  dpo:
    name: Service protection des données
    email: dpo@pharmacie-fictive.example
fields:
  - name: email
    type: email
    category: user.contact.email
    lookup: true
    reason:
      fr: Pour vous envoyer les conseils que vous avez demandés.
      en: To send you the advice you asked for.
  - name: allergies
    type: text
    category: user.health_and_medical
    sensitive: true
    reason:
      fr: Pour écarter de nos conseils les produits auxquels vous êtes allergique.
      en: To leave out of our advice the products you are allergic to.
purposes:
  - key: health_advice
    data_use: personalize.content.profiled
    legal_basis: consent
    explicit_consent: true
    fields: [email, allergies]
    retention:
      duration: P1Y6M
      after: delete
    description:
      fr: Si vous l'acceptez, nous tenons compte de vos allergies dans nos conseils de soins.
      en: If you agree, we take your allergies into account in our care advice.
    benefit:
      fr: Des conseils qui tiennent compte de vos allergies.
      en: Advice that takes your allergies into account.
"""


def _consent_purposes(manifest: Manifest) -> list[str]:
    return [p.key for p in manifest.purposes if p.legal_basis is LegalBasis.CONSENT]


def _purposes(receipt: dict[str, Any]) -> dict[str, dict[str, Any]]:
    (service,) = receipt["services"]
    return {p["confiance"]["purposeKey"]: p for p in service["purposes"]}


# -- the Kantara schema ---------------------------------------------------------------------
def test_the_schema_accepts_kantaras_example_and_rejects_a_broken_receipt(
    kantara: jsonschema.Draft4Validator, build: Build
) -> None:
    kantara.validate(load_kantara_json(KANTARA_EXAMPLE))
    receipt = build([ReceiptChange(purpose_key="email_marketing", state="given")])
    broken = copy.deepcopy(receipt)
    del broken["services"][0]["purposes"][0]["termination"]
    assert not kantara.is_valid(broken)
    disclosed = copy.deepcopy(receipt)
    disclosed["services"][0]["purposes"][0]["thirdPartyDisclosure"] = True
    assert not kantara.is_valid(disclosed), "a disclosure must name the third party"


def test_a_grant_is_a_valid_kantara_receipt(
    kantara: jsonschema.Draft4Validator, build: Build, manifest: Manifest
) -> None:
    receipt = build(
        [
            ReceiptChange(purpose_key="email_marketing", state="given"),
            ReceiptChange(purpose_key="personalised_offers", state="given"),
        ]
    )
    kantara.validate(receipt)

    assert receipt["version"] == KANTARA_VERSION
    assert receipt["jurisdiction"] == "FR"
    assert receipt["consentTimestamp"] == int(ISSUED_AT.timestamp())
    assert receipt["piiPrincipalId"] == SUBJECT
    assert receipt["language"] == "fr"
    (controller,) = receipt["piiControllers"]
    assert controller["piiController"] == "Maison Exemple SAS"
    assert controller["email"] == "dpo@maison-exemple.example"
    assert controller["address"]["addressCountry"] == "FR"
    assert (
        receipt["policyUrl"]
        == f"urn:confiance:manifest:4:{receipt['confiance']['manifest']['sha256']}"
    )
    assert receipt["confiance"] == {
        "version": 1,
        "issuedAt": "2025-03-14T09:26:53.589000Z",
        "channel": "privacy_center",
        "manifest": {"seq": 4, "sha256": receipt["confiance"]["manifest"]["sha256"]},
        "changes": [
            {"target": "email_marketing", "kind": "consent", "state": "given"},
            {"target": "personalised_offers", "kind": "consent", "state": "given"},
        ],
    }
    assert receipt["sensitive"] is False
    assert receipt["spiCat"] == []

    purposes = _purposes(receipt)
    assert list(purposes) == ["email_marketing", "personalised_offers"]
    marketing = purposes["email_marketing"]
    spec = manifest.purpose("email_marketing")
    assert spec.description is not None
    assert marketing["purpose"] == spec.description.fr
    assert marketing["purposeCategory"] == ["marketing.communications.email"]
    assert marketing["consentType"] == "EXPLICIT"
    assert marketing["piiCategory"] == ["user.name.first", "user.contact.email"]
    assert marketing["primaryPurpose"] is False
    assert marketing["termination"] == (
        "Conservées 3 ans après votre dernier contact avec nous, puis supprimées."
    )
    # MailWave is a processor: a recipient, not a third party.
    assert marketing["thirdPartyDisclosure"] is False
    assert "thirdPartyName" not in marketing
    assert marketing["confiance"]["decisions"] == [{"kind": "consent", "state": "given"}]
    assert marketing["confiance"]["recipients"] == [
        {"name": "MailWave Inc.", "role": "processor", "country": "US", "safeguard": "scc"}
    ]
    assert purposes["personalised_offers"]["termination"] == (
        "Conservées 13 mois après leur collecte, puis supprimées."
    )


def test_a_withdrawal_in_english_names_the_third_party(
    kantara: jsonschema.Draft4Validator, build: Build, manifest: Manifest
) -> None:
    receipt = build(
        [ReceiptChange(purpose_key="advertising_partner_sharing", state="withdrawn")],
        language="en",
    )
    kantara.validate(receipt)
    sharing = _purposes(receipt)["advertising_partner_sharing"]
    spec = manifest.purpose("advertising_partner_sharing")
    assert spec.description is not None
    assert sharing["purpose"] == spec.description.en
    assert sharing["thirdPartyDisclosure"] is True
    assert sharing["thirdPartyName"] == "AdReach Europe BV"
    assert sharing["termination"] == "Kept 13 months after collection, then deleted."
    assert sharing["confiance"]["decisions"] == [{"kind": "consent", "state": "withdrawn"}]


def test_refusing_everything_is_a_valid_receipt(
    kantara: jsonschema.Draft4Validator, build: Build, manifest: Manifest
) -> None:
    consent = _consent_purposes(manifest)
    changes = [ReceiptChange(purpose_key=key, state="refused") for key in consent]
    # An opt-out or an objection refuses the processing, like a refused consent.
    changes += [
        ReceiptChange(purpose_key="@sale_sharing", state="refused", kind="opt_out_sale"),
        ReceiptChange(purpose_key="analytics", state="refused", kind="objection"),
    ]
    receipt = build(changes)
    kantara.validate(receipt)
    purposes = _purposes(receipt)
    assert list(purposes) == [*consent, "analytics"]
    assert all(purposes[key]["consentType"] == "EXPLICIT" for key in consent)
    # The scope reaches the one purpose that shares data with a third party.
    assert purposes["advertising_partner_sharing"]["confiance"]["decisions"] == [
        {"kind": "consent", "state": "refused"},
        {"kind": "opt_out_sale", "state": "refused", "scope": "@sale_sharing"},
    ]
    assert receipt["confiance"]["changes"][-2:] == [
        {"target": "@sale_sharing", "kind": "opt_out_sale", "state": "refused"},
        {"target": "analytics", "kind": "objection", "state": "refused"},
    ]
    analytics = purposes["analytics"]
    assert analytics["consentType"] == "N/A"
    assert analytics["confiance"]["legalBasis"] == "legitimate_interest"
    assert analytics["termination"] == "Conservées 25 mois après leur collecte, puis anonymisées."


def test_sensitive_fields_are_declared(kantara: jsonschema.Draft4Validator, build: Build) -> None:
    pharmacy = parse_manifest(SENSITIVE_MANIFEST)
    receipt = build(
        [ReceiptChange(purpose_key="health_advice", state="given")],
        manifest=pharmacy,
        language="en",
    )
    kantara.validate(receipt)
    assert receipt["sensitive"] is True
    assert receipt["spiCat"] == ["user.health_and_medical"]
    assert _purposes(receipt)["health_advice"]["termination"] == (
        "Kept 1 year and 6 months after collection, then deleted."
    )
    french = build([ReceiptChange(purpose_key="health_advice", state="given")], manifest=pharmacy)
    assert _purposes(french)["health_advice"]["termination"] == (
        "Conservées 1 an et 6 mois après leur collecte, puis supprimées."
    )


def test_the_sensitive_scope_lists_the_purposes_using_sensitive_data(
    kantara: jsonschema.Draft4Validator, build: Build, manifest: Manifest
) -> None:
    change = ReceiptChange(purpose_key="@sensitive", state="refused", kind="limit_sensitive")
    pharmacy = build([change], manifest=parse_manifest(SENSITIVE_MANIFEST))
    kantara.validate(pharmacy)
    assert list(_purposes(pharmacy)) == ["health_advice"]
    assert pharmacy["sensitive"] is True
    # The example company holds no sensitive data: the decision is still on the receipt.
    shop = build([change])
    kantara.validate(shop)
    assert shop["services"][0]["purposes"] == []
    assert shop["confiance"]["changes"] == [
        {"target": "@sensitive", "kind": "limit_sensitive", "state": "refused"}
    ]


def test_a_given_policy_url_replaces_the_manifest_urn(build: Build) -> None:
    receipt = build(
        [ReceiptChange(purpose_key="email_marketing", state="given")],
        policy_url="https://maison-exemple.example/confidentialite",
    )
    assert receipt["policyUrl"] == "https://maison-exemple.example/confidentialite"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"issued_at": datetime(2025, 3, 14, 9, 26)}, "timezone-aware"),
        ({"subject": "camille@client.example"}, "pseudonymous"),
        ({"subject": ""}, "pseudonymous"),
        ({"changes": []}, "at least one change"),
        ({"manifest_sha256": "ABC"}, "hexadecimal"),
        ({"manifest_seq": 0}, "starts at 1"),
        ({"channel": " "}, "channel"),
        (
            {
                "changes": [
                    ReceiptChange(purpose_key="email_marketing", state="given"),
                    ReceiptChange(purpose_key="email_marketing", state="withdrawn"),
                ]
            },
            "record the final state once",
        ),
        (
            {
                "changes": [
                    ReceiptChange(
                        purpose_key="@sale_sharing", state="refused", kind="opt_out_sale"
                    ),
                    ReceiptChange(
                        purpose_key="advertising_partner_sharing",
                        state="given",
                        kind="opt_out_sale",
                    ),
                ]
            },
            "directly and through a scope",
        ),
    ],
)
def test_inconsistent_input_is_refused(
    build: Build, overrides: dict[str, Any], message: str
) -> None:
    changes = overrides.pop(
        "changes", [ReceiptChange(purpose_key="email_marketing", state="given")]
    )
    with pytest.raises(ValueError, match=message):
        build(changes, **overrides)


def test_an_unknown_purpose_is_refused(build: Build) -> None:
    with pytest.raises(UnknownPurpose):
        build([ReceiptChange(purpose_key="telepathy", state="given")])


@pytest.mark.parametrize(
    "fields",
    [
        {"purpose_key": "email_marketing", "state": "accepted"},
        {"purpose_key": "email_marketing", "state": "given", "kind": "cookies"},
        {"purpose_key": "", "state": "given"},
        {"purpose_key": "@sale_sharing", "state": "refused"},
        {"purpose_key": "@sensitive", "state": "refused", "kind": "opt_out_sale"},
        {"purpose_key": "@everything", "state": "refused", "kind": "opt_out_sale"},
    ],
)
def test_a_change_outside_the_vocabulary_is_refused(fields: dict[str, str]) -> None:
    with pytest.raises(ValueError, match="validation error"):
        ReceiptChange.model_validate(fields)


# -- signing and verifying ------------------------------------------------------------------
@pytest.fixture
def receipt(build: Build) -> dict[str, Any]:
    return build(
        [
            ReceiptChange(purpose_key="email_marketing", state="given"),
            ReceiptChange(purpose_key="advertising_partner_sharing", state="refused"),
        ]
    )


def test_sign_then_verify_gives_back_the_receipt(
    receipt: dict[str, Any], receipt_key: ReceiptKey
) -> None:
    token = sign(receipt, seed=receipt_key.seed, kid=receipt_key.kid)
    assert verify(token, public_key=receipt_key.public_key) == receipt


def test_the_published_jwk_names_the_key_that_signed(receipt_key: ReceiptKey) -> None:
    jwk = receipt_key.jwk()
    assert jwk["kid"] == receipt_key.kid
    assert (jwk["kty"], jwk["crv"], jwk["alg"]) == ("OKP", "Ed25519", "EdDSA")


def test_a_wrong_public_key_fails(receipt: dict[str, Any], receipt_key: ReceiptKey) -> None:
    token = sign(receipt, seed=receipt_key.seed, kid=receipt_key.kid)
    other = ReceiptKey.from_seed(Secret(bytes(32)))
    with pytest.raises(ReceiptInvalid) as caught:
        verify(token, public_key=other.public_key)
    assert caught.value.reason == "signature"
    assert isinstance(caught.value.__cause__, SignatureInvalid)


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_a_receipt_changed_by_one_byte_anywhere_fails(
    data: st.DataObject, receipt: dict[str, Any], receipt_key: ReceiptKey
) -> None:
    token = sign(receipt, seed=receipt_key.seed, kid=receipt_key.kid)
    raw = bytearray(token.encode("ascii"))
    position = data.draw(st.integers(min_value=0, max_value=len(raw) - 1), label="position")
    raw[position] = data.draw(
        st.integers(min_value=0, max_value=255).filter(lambda b: b != raw[position]), label="byte"
    )
    tampered = raw.decode("latin-1")
    with pytest.raises(ReceiptInvalid) as caught:
        verify(tampered, public_key=receipt_key.public_key)
    assert caught.value.reason == "signature"


def test_a_change_in_each_part_of_the_token_fails(
    receipt: dict[str, Any], receipt_key: ReceiptKey
) -> None:
    token = sign(receipt, seed=receipt_key.seed, kid=receipt_key.kid)
    header, payload, signature = token.split(".")
    for index in range(3):
        parts = [header, payload, signature]
        middle = len(parts[index]) // 2
        flipped = "A" if parts[index][middle] != "A" else "B"
        parts[index] = parts[index][:middle] + flipped + parts[index][middle + 1 :]
        with pytest.raises(ReceiptInvalid):
            verify(".".join(parts), public_key=receipt_key.public_key)


def test_a_signed_document_that_is_not_a_receipt_fails(receipt_key: ReceiptKey) -> None:
    token = sign_jws(
        {"hello": "world"}, seed=receipt_key.seed, kid=receipt_key.kid, typ=RECEIPT_TYP
    )
    with pytest.raises(ReceiptInvalid) as caught:
        verify(token, public_key=receipt_key.public_key)
    assert caught.value.reason == "shape"
    assert "version" in caught.value.fields["problems"]


def test_a_receipt_signed_for_another_use_fails(
    receipt: dict[str, Any], receipt_key: ReceiptKey
) -> None:
    token = sign_jws(receipt, seed=receipt_key.seed, kid=receipt_key.kid)  # typ JWT
    with pytest.raises(ReceiptInvalid) as caught:
        verify(token, public_key=receipt_key.public_key)
    assert caught.value.reason == "signature"


def test_signing_refuses_a_document_without_receipt_shape(
    receipt: dict[str, Any], receipt_key: ReceiptKey
) -> None:
    broken = copy.deepcopy(receipt)
    broken["consentTimestamp"] = "yesterday"
    with pytest.raises(ReceiptInvalid) as caught:
        sign(broken, seed=receipt_key.seed, kid=receipt_key.kid)
    assert caught.value.fields["problems"] == ["consentTimestamp"]


def test_the_error_renders_as_a_problem_without_personal_data(
    receipt: dict[str, Any], receipt_key: ReceiptKey
) -> None:
    token = sign(receipt, seed=receipt_key.seed, kid=receipt_key.kid)
    with pytest.raises(ReceiptInvalid) as caught:
        verify(token[:-2], public_key=receipt_key.public_key)
    problem = caught.value.to_problem()
    assert problem["status"] == 422
    assert problem["code"] == "receipt-invalid"
    assert problem["reason"] == "signature"
    assert SUBJECT not in str(problem)


def test_the_receipt_key_is_not_the_audit_key(receipt: dict[str, Any]) -> None:
    ring = Keyring.generate()
    key = ReceiptKey.from_ring(ring)
    assert key.public_key != Signer(ring.audit_signing_key).public_key
    forged = sign(receipt, seed=ring.audit_signing_key, kid=key.kid)
    with pytest.raises(ReceiptInvalid):
        verify(forged, public_key=key.public_key)
