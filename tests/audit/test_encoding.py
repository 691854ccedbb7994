"""The canonical encoding: a pinned vector, unambiguity, and the fast verifier's agreement."""

from __future__ import annotations

import hashlib
from typing import Any, cast

import pytest
from hypothesis import given
from hypothesis import strategies as st

from confiance.audit.encoding import (
    CHECKPOINT_DOMAIN,
    GENESIS_HASH,
    RawRow,
    checkpoint_message,
    decode_entry,
    encode_entry,
    entry_hash,
    verify_run,
)

# Written out by hand from the layout in the module docstring, not produced by the code.
VECTOR_ENTRY: dict[str, Any] = {
    "seq": 1,
    "at_us": 2,
    "actor": "a",
    "action": "b",
    "customer_pid": None,
    "purpose": "",
    "fields": "x,y",
    "outcome": "ok",
    "detail": None,
}
VECTOR_ENCODING = (
    bytes.fromhex(
        "01"  # format version
        "0000000000000001"  # seq
        "0000000000000002"  # at_us
        "00000001"  # actor: 1 byte
        "00000001"  # action: 1 byte
        "ffffffff"  # customer_pid: None
        "00000000"  # purpose: ""
        "00000003"  # fields: 3 bytes
        "00000002"  # outcome: 2 bytes
        "ffffffff"  # detail: None
    )
    + b"abx,yok"
)
VECTOR_HASH = "3a1b7bbfc52d5b130b9cbeb6b033b07ffbf118c8317f6baeea2741e29083642d"

texts = st.none() | st.text(max_size=12)
entries = st.fixed_dictionaries(
    {
        "seq": st.integers(0, 2**64 - 1),
        "at_us": st.integers(-(2**63), 2**63 - 1),
        "actor": texts,
        "action": texts,
        "customer_pid": texts,
        "purpose": texts,
        "fields": texts,
        "outcome": texts,
        "detail": texts,
    }
)


def test_encoding_matches_the_published_vector() -> None:
    encoded = encode_entry(**VECTOR_ENTRY)
    assert encoded == VECTOR_ENCODING
    assert entry_hash(GENESIS_HASH, encoded).hex() == VECTOR_HASH


def test_none_and_empty_string_encode_differently() -> None:
    assert encode_entry(**(VECTOR_ENTRY | {"detail": ""})) != VECTOR_ENCODING


def test_moving_bytes_between_neighbouring_slots_changes_the_encoding() -> None:
    a = encode_entry(**(VECTOR_ENTRY | {"actor": "ab", "action": "c"}))
    b = encode_entry(**(VECTOR_ENTRY | {"actor": "a", "action": "bc"}))
    assert a != b


def test_genesis_and_chain_hash() -> None:
    assert bytes(32) == GENESIS_HASH
    assert entry_hash(b"\x01" * 32, b"x") == hashlib.sha256(b"\x01" * 32 + b"x").digest()
    with pytest.raises(ValueError):
        entry_hash(b"short", b"x")


def test_checkpoint_message_layout() -> None:
    message = checkpoint_message(seq=256, at_us=7, chain_hash=b"\xaa" * 32)
    assert message == CHECKPOINT_DOMAIN + (256).to_bytes(8, "big") + (7).to_bytes(8, "big") + (
        b"\xaa" * 32
    )


@given(entries)
def test_decoding_inverts_encoding(entry: dict[str, Any]) -> None:
    assert decode_entry(encode_entry(**entry))._asdict() == entry


@given(entries, entries)
def test_distinct_entries_never_share_an_encoding(a: dict[str, Any], b: dict[str, Any]) -> None:
    if a != b:
        assert encode_entry(**a) != encode_entry(**b)


@given(st.binary(max_size=80))
def test_decoder_rejects_or_round_trips_arbitrary_bytes(data: bytes) -> None:
    try:
        decoded = decode_entry(data)
    except ValueError:
        return
    assert encode_entry(**decoded._asdict()) == data


def _chain(items: list[dict[str, Any]]) -> list[RawRow]:
    rows: list[RawRow] = []
    prev = GENESIS_HASH
    for seq, item in enumerate(items, start=1):
        entry = item | {"seq": seq}
        digest = entry_hash(prev, encode_entry(**entry))
        slots = [
            None if entry[k] is None else str(entry[k]).encode()
            for k in ("actor", "action", "customer_pid", "purpose", "fields", "outcome", "detail")
        ]
        rows.append(cast(RawRow, (seq, entry["at_us"], *slots, prev, digest)))
        prev = digest
    return rows


@given(st.lists(entries, min_size=1, max_size=12), st.data())
def test_fast_verifier_agrees_with_the_reference_encoding(
    items: list[dict[str, Any]], data: st.DataObject
) -> None:
    rows = _chain(items)
    count, last = verify_run(rows, expected_seq=1, prev_hash=GENESIS_HASH)
    assert (count, last) == (len(rows), rows[-1][10])

    # Any single altered slot stops the run exactly at that row.
    index = data.draw(st.integers(0, len(rows) - 1))
    slot = data.draw(st.integers(1, 10))
    row: list[Any] = list(rows[index])
    if slot == 1:
        row[1] = row[1] + 1 if row[1] < 2**63 - 1 else 0
    elif slot in (9, 10):
        row[slot] = bytes([row[slot][0] ^ 1]) + row[slot][1:]
    else:
        row[slot] = b"\x00tampered" if row[slot] != b"\x00tampered" else None
    tampered = [*rows[:index], cast(RawRow, tuple(row)), *rows[index + 1 :]]
    count, last = verify_run(tampered, expected_seq=1, prev_hash=GENESIS_HASH)
    assert count == index
    assert last == (rows[index - 1][10] if index else GENESIS_HASH)
