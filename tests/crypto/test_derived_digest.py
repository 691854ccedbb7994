"""Derived keys are cached per ring and purpose; keyed digests are keyed by both."""

from __future__ import annotations

import pytest

from confiance.crypto import Keyring
from confiance.crypto.derived import derived_key, keyed_digest, same_digest


def test_a_derived_key_is_reused_for_the_same_ring_and_purpose_only() -> None:
    ring = Keyring.generate()
    first = derived_key(ring, "test-one")
    assert derived_key(ring, "test-one") is first
    assert derived_key(ring, "test-two").id != first.id
    # A reloaded key file is a new ring object with the same secrets: the same key.
    reloaded = Keyring.from_json(ring.to_json())
    assert derived_key(reloaded, "test-one").id == first.id
    assert derived_key(Keyring.generate(), "test-one").id != first.id


def test_keyed_digests_depend_on_the_ring_the_purpose_and_the_message() -> None:
    ring, other = Keyring.generate(), Keyring.generate()
    digest = keyed_digest(ring, "test-codes", b"request:123456")
    assert same_digest(digest, keyed_digest(ring, "test-codes", b"request:123456"))
    assert not same_digest(digest, keyed_digest(ring, "test-codes", b"request:123457"))
    assert not same_digest(digest, keyed_digest(ring, "test-other", b"request:123456"))
    assert not same_digest(digest, keyed_digest(other, "test-codes", b"request:123456"))


def test_purposes_are_checked() -> None:
    with pytest.raises(ValueError):
        derived_key(Keyring.generate(), "Not A Purpose")
