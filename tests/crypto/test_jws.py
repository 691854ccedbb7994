"""Compact JWS with Ed25519 against RFC 8037's published example, and the failures it promises."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import warnings

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from joserfc import jwk as joserfc_jwk
from joserfc import jws as joserfc_jws
from joserfc.errors import SecurityWarning

from confiance.crypto import (
    Keyring,
    Secret,
    SignatureInvalid,
    Signer,
    jwk_thumbprint,
    public_jwk,
    receipt_signing_seed,
    sign_jws,
    verify_jws,
)
from confiance.crypto.jws import public_key_from_jwk, sign_compact, verify_compact


def _b64d(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _b64e(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


# RFC 8037, appendix A.1 (private key), A.2 (public key), A.3 (thumbprint), A.4 (signature).
RFC8037_D = _b64d("nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A")
RFC8037_X = _b64d("11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo")
RFC8037_THUMBPRINT = "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
RFC8037_PAYLOAD = b"Example of Ed25519 signing"
RFC8037_JWS = (
    "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc."
    "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg"
)

SEED = Secret(bytes(range(32)), label="test seed")
PUBLIC = Signer(SEED).public_key
PAYLOAD = {"note": "Reçu fictif", "n": 3, "items": [1, 2]}


def _token() -> str:
    return sign_jws(PAYLOAD, seed=SEED, kid="k1", typ="test+jwt")


def _signed_by_hand(header: dict[str, object], payload: bytes) -> str:
    """A correctly signed token with any header, which sign_compact would not produce."""
    signing_input = _b64e(json.dumps(header).encode()) + "." + _b64e(payload)
    return signing_input + "." + _b64e(Signer(SEED).sign(signing_input.encode()))


# -- published vectors ------------------------------------------------------------------------
def test_rfc8037_a4_signature_is_reproduced_byte_for_byte() -> None:
    assert Signer(Secret(RFC8037_D)).public_key == RFC8037_X
    assert sign_compact(RFC8037_PAYLOAD, seed=Secret(RFC8037_D)) == RFC8037_JWS


def test_rfc8037_a4_signature_verifies() -> None:
    header, payload = verify_compact(RFC8037_JWS, public_key=RFC8037_X)
    assert header == {"alg": "EdDSA"}
    assert payload == RFC8037_PAYLOAD


def test_rfc8037_a4_signature_fails_with_another_key() -> None:
    with pytest.raises(SignatureInvalid):
        verify_compact(RFC8037_JWS, public_key=PUBLIC)


def test_rfc8037_a2_jwk_and_a3_thumbprint() -> None:
    jwk = public_jwk(RFC8037_X, "k")
    assert (jwk["kty"], jwk["crv"], jwk["x"]) == (
        "OKP",
        "Ed25519",
        "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo",
    )
    assert jwk_thumbprint(RFC8037_X) == RFC8037_THUMBPRINT
    assert public_key_from_jwk(jwk) == RFC8037_X


# -- round trip -------------------------------------------------------------------------------
def test_sign_then_verify_returns_the_payload_and_types_the_header() -> None:
    token = _token()
    assert verify_jws(token, public_key=PUBLIC, typ="test+jwt") == PAYLOAD
    header, _ = verify_compact(token, public_key=PUBLIC)
    assert header == {"alg": "EdDSA", "typ": "test+jwt", "kid": "k1"}


def test_a_jose_library_verifies_with_the_published_jwk_alone() -> None:
    token = _token()
    key = joserfc_jwk.import_key(public_jwk(PUBLIC, "k1"), "OKP")
    # joserfc warns about "EdDSA" since RFC 9864 (see confiance.crypto.jws); a third party's
    # verifier is used here exactly as it comes, warning included.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SecurityWarning)
        obj = joserfc_jws.deserialize_compact(token, key, algorithms=["EdDSA"])
    assert json.loads(obj.payload) == PAYLOAD


def test_the_fully_specified_ed25519_name_is_accepted_too() -> None:
    token = _signed_by_hand({"alg": "Ed25519"}, b"{}")
    assert verify_jws(token, public_key=PUBLIC) == {}


# -- failures -----------------------------------------------------------------------------------
def test_wrong_public_key_fails() -> None:
    other = Signer(Secret(bytes(32))).public_key
    with pytest.raises(SignatureInvalid):
        verify_jws(_token(), public_key=other)


def test_another_type_fails_when_a_type_is_expected() -> None:
    with pytest.raises(SignatureInvalid):
        verify_jws(_token(), public_key=PUBLIC, typ="kantara-cr+jwt")


@pytest.mark.parametrize(
    "token",
    [
        "",
        "a.b",
        "a.b.c.d",
        "...",
        RFC8037_JWS + ".",
        "é" + RFC8037_JWS[1:],
        RFC8037_JWS + "=",
        RFC8037_JWS.replace("-", "+"),
    ],
)
def test_malformed_tokens_fail(token: str) -> None:
    with pytest.raises(SignatureInvalid):
        verify_compact(token, public_key=RFC8037_X)


def test_a_non_canonical_spelling_of_the_signature_fails() -> None:
    # 64 bytes leave 4 unused bits in the last base64url character: lenient decoders read
    # several characters there as the same signature. Only the canonical one is accepted.
    head, sig = RFC8037_JWS.rsplit(".", 1)
    twins = [
        c
        for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
        if c != sig[-1] and base64.urlsafe_b64decode(sig[:-1] + c + "==") == _b64d(sig)
    ]
    assert twins, "the vector's signature has spare bits to play with"
    for twin in twins:
        with pytest.raises(SignatureInvalid):
            verify_compact(f"{head}.{sig[:-1]}{twin}", public_key=RFC8037_X)


@pytest.mark.parametrize(
    "header",
    [
        {"alg": "none"},
        {"alg": "HS256"},
        {"alg": "EdDSA", "crit": ["exp"], "exp": 1},
        {"alg": "EdDSA", "jku": "https://attacker.example/keys"},
        {"alg": "EdDSA", "b64": False, "crit": ["b64"]},
        {"alg": "EdDSA", "kid": 7},
        {"typ": "JWT"},
    ],
)
def test_correctly_signed_tokens_with_an_unexpected_header_fail(header: dict[str, object]) -> None:
    with pytest.raises(SignatureInvalid):
        verify_jws(_signed_by_hand(header, b"{}"), public_key=PUBLIC)


def test_alg_none_without_a_signature_fails() -> None:
    token = _b64e(b'{"alg":"none"}') + "." + _b64e(b"{}") + "."
    with pytest.raises(SignatureInvalid):
        verify_jws(token, public_key=PUBLIC)


@pytest.mark.parametrize(
    "payload",
    [b"[1, 2]", b'"text"', b"NaN", b'{"a": 1, "a": 2}', b'{"a": NaN}', b"\xff", b"{"],
)
def test_a_correctly_signed_payload_that_is_not_a_json_object_fails(payload: bytes) -> None:
    token = _signed_by_hand({"alg": "EdDSA"}, payload)
    assert verify_compact(token, public_key=PUBLIC)[1] == payload
    with pytest.raises(SignatureInvalid):
        verify_jws(token, public_key=PUBLIC)


@pytest.mark.parametrize("key", [b"", b"\x00" * 31, b"\x00" * 33])
def test_a_public_key_of_the_wrong_size_fails(key: bytes) -> None:
    with pytest.raises(SignatureInvalid):
        verify_jws(_token(), public_key=key)


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_any_single_character_change_fails(data: st.DataObject) -> None:
    token = _token()
    position = data.draw(st.integers(min_value=0, max_value=len(token) - 1), label="position")
    replacement = data.draw(
        st.characters(codec="utf-8").filter(lambda c: c != token[position]), label="new"
    )
    tampered = token[:position] + replacement + token[position + 1 :]
    with pytest.raises(SignatureInvalid):
        verify_jws(tampered, public_key=PUBLIC)


@settings(max_examples=100, deadline=None)
@given(data=st.data())
def test_any_truncation_or_insertion_fails(data: st.DataObject) -> None:
    token = _token()
    if data.draw(st.booleans(), label="truncate"):
        tampered = token[: data.draw(st.integers(min_value=0, max_value=len(token) - 1))]
    else:
        position = data.draw(st.integers(min_value=0, max_value=len(token)))
        tampered = token[:position] + data.draw(st.characters(codec="ascii")) + token[position:]
    with pytest.raises(SignatureInvalid):
        verify_jws(tampered, public_key=PUBLIC)


# -- keys -------------------------------------------------------------------------------------
def _hkdf_sha256(ikm: bytes, info: bytes) -> bytes:
    """RFC 5869 with an empty salt and one output block, written out independently."""
    prk = hmac.new(b"\x00" * 32, ikm, hashlib.sha256).digest()
    return hmac.new(prk, info + b"\x01", hashlib.sha256).digest()


def test_receipt_key_is_hkdf_of_the_audit_key_with_its_own_info() -> None:
    ring = Keyring.generate()
    seed = receipt_signing_seed(ring)
    expected = _hkdf_sha256(ring.audit_signing_key.reveal(), b"confiance/receipts/v1")
    assert seed.reveal() == expected
    assert seed != ring.audit_signing_key
    assert receipt_signing_seed(ring) == seed
    assert "****" in repr(seed)


def test_the_audit_key_and_the_receipt_key_do_not_verify_each_other() -> None:
    ring = Keyring.generate()
    receipt_seed = receipt_signing_seed(ring)
    receipt_public = Signer(receipt_seed).public_key
    audit_public = Signer(ring.audit_signing_key).public_key
    audit_token = sign_jws(PAYLOAD, seed=ring.audit_signing_key, kid="audit")
    receipt_token = sign_jws(PAYLOAD, seed=receipt_seed, kid="receipt")
    assert verify_jws(audit_token, public_key=audit_public) == PAYLOAD
    assert verify_jws(receipt_token, public_key=receipt_public) == PAYLOAD
    with pytest.raises(SignatureInvalid):
        verify_jws(audit_token, public_key=receipt_public)
    with pytest.raises(SignatureInvalid):
        verify_jws(receipt_token, public_key=audit_public)


@pytest.mark.parametrize(
    "jwk",
    [
        {"kty": "EC", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"},
        {"kty": "OKP", "crv": "X25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"},
        {"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHUR"},
        {"kty": "OKP", "crv": "Ed25519"},
    ],
)
def test_a_jwk_that_is_not_an_ed25519_public_key_is_refused(jwk: dict[str, str]) -> None:
    with pytest.raises(ValueError, match="JWK"):
        public_key_from_jwk(jwk)
