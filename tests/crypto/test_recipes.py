"""The crypto recipe layer against published vectors and the properties it promises."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from confiance.crypto import (
    BlindIndexer,
    DecryptionFailed,
    Keyring,
    KeyringError,
    KeyringSource,
    Secret,
    SignatureInvalid,
    Signer,
    SymmetricKey,
    context,
    hmac_sha256,
    verify_signature,
    write_keyring,
)
from confiance.crypto.aead import HEADER_SIZE, OVERHEAD

# A frozen token of format version 1: if this stops opening, stored data would stop opening.
FROZEN_KEY = bytes(range(32))
FROZEN_KEY_ID = bytes.fromhex("0011223344556677")
FROZEN_CUSTOMER = "2f1c7a64-4e0b-4c9f-9d59-3a1f5e2b7c01"
FROZEN_TOKEN = bytes.fromhex(
    "0100112233445566771887a29437b95e46f32e1ac7af89afb4921f3597808cb93cd2041989b8bff8e28e34"
    "b759322e52731ecd5d"
)


def test_frozen_token_of_format_version_1_still_opens() -> None:
    key = SymmetricKey(FROZEN_KEY_ID, Secret(FROZEN_KEY))
    plain = key.open(FROZEN_TOKEN, ctx=context(FROZEN_CUSTOMER, "first_name"))
    assert plain == b"Camille Exemple"
    assert FROZEN_TOKEN[0] == 0x01
    assert FROZEN_TOKEN[1:9] == FROZEN_KEY_ID


def test_hmac_sha256_rfc4231_case_2() -> None:
    digest = hmac_sha256(b"Jefe", b"what do ya want for nothing?")
    assert digest.hex() == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"


def test_ed25519_rfc8032_test_1() -> None:
    seed = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
    signer = Signer(Secret(seed))
    assert signer.public_key.hex() == (
        "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
    )
    signature = signer.sign(b"")
    assert signature.hex() == (
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e397"
        "01cf9b46bd25bf5f0595bbe24655141438e7a100b"
    )
    verify_signature(signer.public_key, b"", signature)
    with pytest.raises(SignatureInvalid):
        verify_signature(signer.public_key, b"x", signature)


@settings(max_examples=60, deadline=None)
@given(plain=st.binary(max_size=256), customer=st.uuids(), field=st.text(min_size=1, max_size=20))
def test_seal_open_round_trip_and_context_binding(
    plain: bytes, customer: object, field: str
) -> None:
    key = SymmetricKey.generate()
    token = key.seal(plain, ctx=context(str(customer), field))
    assert len(token) == len(plain) + OVERHEAD
    assert key.open(token, ctx=context(str(customer), field)) == plain
    with pytest.raises(DecryptionFailed):
        key.open(token, ctx=context(str(customer), field + "x"))
    with pytest.raises(DecryptionFailed):
        key.open(token, ctx=context("another-customer", field))


@settings(max_examples=60, deadline=None)
@given(position=st.integers(min_value=0, max_value=HEADER_SIZE + 20), flip=st.integers(1, 255))
def test_any_altered_byte_fails_with_the_same_opaque_error(position: int, flip: int) -> None:
    key = SymmetricKey.generate()
    token = bytearray(key.seal(b"0612345678", ctx=context("c", "phone")))
    position %= len(token)
    token[position] ^= flip
    with pytest.raises(DecryptionFailed) as info:
        key.open(bytes(token), ctx=context("c", "phone"))
    assert str(info.value) == "The data could not be decrypted."


def test_wrong_key_truncated_and_empty_tokens_fail_the_same_way() -> None:
    key, other = SymmetricKey.generate(), SymmetricKey.generate()
    token = key.seal(b"value", ctx=b"ctx")
    for bad in (token[:-1], b"", token[:HEADER_SIZE], bytes([2]) + token[1:]):
        with pytest.raises(DecryptionFailed):
            key.open(bad, ctx=b"ctx")
    with pytest.raises(DecryptionFailed):
        other.open(token, ctx=b"ctx")


def test_nonces_are_random() -> None:
    key = SymmetricKey.generate()
    tokens = {key.seal(b"same", ctx=b"c") for _ in range(200)}
    assert len(tokens) == 200


def test_key_material_never_shows_in_repr_or_str() -> None:
    ring = Keyring.generate()
    material = ring.primary.material.reveal()
    texts = [
        repr(ring),
        str(ring),
        repr(ring.primary),
        repr(ring.blind_index_key),
        str(ring.audit_signing_key),
        repr(Signer(ring.audit_signing_key)),
        repr(ring.keks),
    ]
    for text in texts:
        assert "****" in text
        assert material.hex() not in text
        assert repr(material) not in text
    with pytest.raises(TypeError):
        import pickle

        pickle.dumps(ring.primary.material)


def test_data_key_wrapping_is_bound_to_its_owner() -> None:
    ring = Keyring.generate()
    data_key = SymmetricKey.generate()
    kek_id, wrapped = ring.wrap(data_key, owner="customer-a")
    assert kek_id == ring.primary_id
    assert ring.unwrap(wrapped, owner="customer-a").material == data_key.material
    with pytest.raises(DecryptionFailed):
        ring.unwrap(wrapped, owner="customer-b")
    with pytest.raises(DecryptionFailed):
        Keyring.generate().unwrap(wrapped, owner="customer-a")


def test_rotation_keeps_old_keks_for_unwrapping_until_retired() -> None:
    ring = Keyring.generate()
    data_key = SymmetricKey.generate()
    _, old_wrapped = ring.wrap(data_key, owner="c")
    rotated = ring.with_new_primary()
    assert rotated.primary_id != ring.primary_id
    assert rotated.unwrap(old_wrapped, owner="c").id == data_key.id
    new_id, new_wrapped = rotated.wrap(data_key, owner="c")
    assert new_id == rotated.primary_id
    retired = rotated.without({ring.primary_id})
    assert retired.unwrap(new_wrapped, owner="c").id == data_key.id
    with pytest.raises(DecryptionFailed):
        retired.unwrap(old_wrapped, owner="c")
    with pytest.raises(KeyringError):
        retired.without({retired.primary_id})


def test_blind_index_is_keyed_and_per_field() -> None:
    ring = Keyring.generate()
    indexer = BlindIndexer(ring.blind_index_key)
    a = indexer.digest("email", "camille@exemple.example")
    assert a == indexer.digest("email", "camille@exemple.example")
    assert a != indexer.digest("phone", "camille@exemple.example")
    assert a != BlindIndexer(Keyring.generate().blind_index_key).digest(
        "email", "camille@exemple.example"
    )
    assert len(a) == 32


def test_key_file_is_written_0600_and_refused_when_readable_by_others(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "keyring.json"
    ring = Keyring.generate()
    write_keyring(path, ring)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert KeyringSource(path=path).get().primary_id == ring.primary_id
    path.chmod(0o644)
    with pytest.raises(KeyringError, match="chmod 600"):
        KeyringSource(path=path)


def test_key_file_missing_or_malformed_gives_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(KeyringError, match="confiance init"):
        KeyringSource(path=tmp_path / "absent.json")
    bad = tmp_path / "bad.json"
    fd = os.open(bad, os.O_WRONLY | os.O_CREAT, 0o600)
    os.write(fd, json.dumps({"format": "confiance-keyring/1", "keks": []}).encode())
    os.close(fd)
    with pytest.raises(KeyringError, match="malformed"):
        KeyringSource(path=bad)


def test_source_reloads_a_key_file_changed_by_another_process(tmp_path: Path) -> None:
    path = tmp_path / "keyring.json"
    ring = Keyring.generate()
    write_keyring(path, ring)
    source = KeyringSource(path=path)
    rotated = ring.with_new_primary()
    write_keyring(path, rotated)  # as 'confiance keys rotate' would, from another process
    assert source.get().primary_id == rotated.primary_id


def test_inline_ring_from_the_environment_cannot_be_rewritten() -> None:
    source = KeyringSource.from_ring(Keyring.generate())
    assert not source.writable
    with pytest.raises(KeyringError, match="environment"):
        source.save(source.get().with_new_primary())
