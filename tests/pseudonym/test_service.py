"""Pseudonyms of single values: stable, keyed, normalised, separated by domain, reversible."""

from __future__ import annotations

import hmac
from hashlib import sha256
from pathlib import Path

import pytest

from confiance.crypto import DecryptionFailed, Keyring, KeyringSource, write_keyring
from confiance.demo.generator import CustomerFactory
from confiance.demo.service import example_manifest_text
from confiance.manifest.errors import InvalidFieldValue
from confiance.manifest.loader import parse
from confiance.pseudonym import Pseudonymiser
from confiance.pseudonym.errors import InvalidDomain


def _source(tmp_path: Path, ring: Keyring, name: str = "keys.json") -> KeyringSource:
    path = tmp_path / name
    write_keyring(path, ring)
    return KeyringSource(path=path)


@pytest.fixture
def ring() -> Keyring:
    return Keyring.generate()


@pytest.fixture
def pseudonymiser(tmp_path: Path, ring: Keyring) -> Pseudonymiser:
    manifest = parse(example_manifest_text()).manifest
    assert manifest is not None
    return Pseudonymiser(_source(tmp_path, ring), manifest=manifest)


def _hkdf32(root: bytes, info: bytes) -> bytes:
    """HKDF-SHA256 (RFC 5869) with no salt, one 32-byte block, written out independently."""
    prk = hmac.new(b"\x00" * 32, root, sha256).digest()
    return hmac.new(prk, info + b"\x01", sha256).digest()


def _expected(ring: Keyring, domain: str, text: str) -> str:
    """HMAC-SHA256 under the HKDF-derived key of the domain, computed independently."""
    key = _hkdf32(
        ring.blind_index_key.reveal(), b"confiance/blind-index/v1/pseudonym/" + domain.encode()
    )
    return hmac.new(key, text.encode(), sha256).hexdigest()[:32]


def test_pseudonym_is_hmac_of_the_normalised_value(
    pseudonymiser: Pseudonymiser, ring: Keyring
) -> None:
    got = pseudonymiser.pseudonym("  Anne.Durand@Exemple.EXAMPLE ", domain="email", field="email")
    assert got == _expected(ring, "email", "anne.durand@exemple.example")
    phone = pseudonymiser.pseudonym("06 12 34 56 78", domain="phone", field="phone")
    assert phone == _expected(ring, "phone", "+33612345678")


def test_same_value_written_differently_gives_one_pseudonym(
    pseudonymiser: Pseudonymiser,
) -> None:
    phones = ["+33 6 12 34 56 78", "0612345678", "06.12.34.56.78", "+33612345678"]
    assert len({pseudonymiser.pseudonym(p, domain="phone", field="phone") for p in phones}) == 1
    other = pseudonymiser.pseudonym("0612345679", domain="phone", field="phone")
    assert other != pseudonymiser.pseudonym(phones[0], domain="phone", field="phone")


def test_another_key_ring_gives_other_pseudonyms(
    tmp_path: Path, pseudonymiser: Pseudonymiser
) -> None:
    other = Pseudonymiser(_source(tmp_path, Keyring.generate(), "other.json"))
    emails = [CustomerFactory(seed=3).customer()["email"] for _ in range(5)]
    for email in emails:
        assert pseudonymiser.pseudonym(email, domain="email") != other.pseudonym(
            email, domain="email"
        )


def test_domains_separate_columns_unless_shared(pseudonymiser: Pseudonymiser) -> None:
    email = "jeanne.martin@courriel.example"
    billing = pseudonymiser.pseudonym(email, domain="billing_email", field="email")
    contact = pseudonymiser.pseudonym(email, domain="email", field="email")
    assert billing != contact
    assert pseudonymiser.pseudonym(email, domain="email", field="email") == contact
    with pytest.raises(InvalidDomain):
        pseudonymiser.pseudonym(email, domain="a/b")


def test_pseudonym_differs_from_the_vault_blind_index(
    pseudonymiser: Pseudonymiser, ring: Keyring
) -> None:
    """A pseudonym must not be usable to look a customer up in the blind index."""
    email = "paul.roux@boite.example"
    key = _hkdf32(ring.blind_index_key.reveal(), b"confiance/blind-index/v1/email")
    index = hmac.new(key, email.encode(), sha256).hexdigest()
    assert not index.startswith(pseudonymiser.pseudonym(email, domain="email", field="email"))


def test_invalid_value_of_a_manifest_field_raises_without_the_value(
    pseudonymiser: Pseudonymiser,
) -> None:
    with pytest.raises(InvalidFieldValue) as caught:
        pseudonymiser.pseudonym("pas-une-adresse", domain="email", field="email")
    assert "pas-une-adresse" not in str(caught.value)


def test_reversible_round_trip_is_deterministic_and_bound(
    tmp_path: Path, pseudonymiser: Pseudonymiser
) -> None:
    token = pseudonymiser.seal("Lucie@Maison.example", domain="email", field="email")
    assert token == pseudonymiser.seal("lucie@maison.example", domain="email", field="email")
    assert "lucie" not in token.lower()
    assert pseudonymiser.reveal(token, domain="email") == "lucie@maison.example"
    with pytest.raises(DecryptionFailed):
        pseudonymiser.reveal(token, domain="other")
    other = Pseudonymiser(_source(tmp_path, Keyring.generate(), "other.json"))
    with pytest.raises(DecryptionFailed):
        other.reveal(token, domain="email")
    altered = token[:-2] + ("AA" if token[-2:] != "AA" else "BB")
    with pytest.raises(DecryptionFailed):
        pseudonymiser.reveal(altered, domain="email")
    with pytest.raises(DecryptionFailed):
        pseudonymiser.reveal("not a token!", domain="email")


def test_customer_pseudonym_matches_the_vault_domain(
    pseudonymiser: Pseudonymiser, ring: Keyring
) -> None:
    customer_id = "0b6f3f5e-7d4c-4f57-9d7a-1c2b3d4e5f60"
    assert pseudonymiser.customer(customer_id) == _expected(ring, "customer", customer_id)


def test_repr_hides_keys(pseudonymiser: Pseudonymiser, ring: Keyring) -> None:
    assert ring.blind_index_key.reveal().hex() not in repr(pseudonymiser)
    assert "****" in repr(pseudonymiser)


def test_vault_field_pseudonym_equals_the_file_column_pseudonym(
    pseudonymiser: Pseudonymiser,
) -> None:
    """What the analytics purpose sees for a field is what a file column of that name gets."""
    assert pseudonymiser.manifest is not None
    spec = pseudonymiser.manifest.fields_by_name["email"]
    column = pseudonymiser.series_function(column="email")
    import polars as pl

    [from_file] = column(pl.Series("email", ["Anne@Exemple.example"])).to_list()
    assert pseudonymiser.of_field(spec, "anne@exemple.example") == from_file
