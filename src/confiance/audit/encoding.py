"""Canonical binary encoding of audit entries and checkpoints, and the chain hash.

An entry is encoded as (integers big-endian)::

    offset  size  content
    0       1     format version, 0x01
    1       8     seq, unsigned
    9       8     at_us, signed: microseconds since the Unix epoch
    17      28    seven signed 32-bit lengths, one per text slot; -1 means None
    45      ...   the UTF-8 bytes of the text slots, back to back, in slot order

The text slots, in order, are :data:`TEXT_SLOTS`. All lengths come first, so a reader splits
the body without looking at its content: two different entries never share an encoding, and
``None`` (length -1) is distinct from ``""`` (length 0). :func:`decode_entry` is the proof by
construction and the reference for anyone re-implementing the verifier.

The chain: ``hash(n) = SHA-256(hash(n-1) || encoding(n))`` with ``hash(0)`` = 32 zero bytes
(:data:`GENESIS_HASH`). A checkpoint signs :func:`checkpoint_message` of (seq, at_us, hash).

:func:`verify_run` is the verifier's hot loop. It inlines the same layout for speed (it is what
lets ``confiance audit verify`` read hundreds of thousands of entries per second) and works on
rows whose text columns were fetched as UTF-8 bytes, so nothing is decoded and re-encoded. The
test suite checks that it agrees with :func:`encode_entry` on arbitrary entries.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Sequence
from typing import NamedTuple

__all__ = [
    "CHECKPOINT_DOMAIN",
    "ENTRY_FORMAT",
    "GENESIS_HASH",
    "HASH_SIZE",
    "TEXT_SLOTS",
    "DecodedEntry",
    "RawRow",
    "checkpoint_message",
    "decode_entry",
    "encode_entry",
    "encode_entry_bytes",
    "entry_hash",
    "raw_row_hash",
    "verify_run",
]

ENTRY_FORMAT = 0x01
HASH_SIZE = 32
GENESIS_HASH = bytes(HASH_SIZE)
TEXT_SLOTS = ("actor", "action", "customer_pid", "purpose", "fields", "outcome", "detail")
CHECKPOINT_DOMAIN = b"confiance/audit-checkpoint/v1\x00"

_HEADER = struct.Struct(">BQq7i")
_CHECKPOINT = struct.Struct(">Qq")

RawRow = tuple[
    int,  # seq
    int,  # at_us
    bytes | None,  # actor
    bytes | None,  # action
    bytes | None,  # customer_pid
    bytes | None,  # purpose
    bytes | None,  # fields
    bytes | None,  # outcome
    bytes | None,  # detail
    bytes,  # prev_hash
    bytes,  # hash
]
"""An ``audit_entries`` row as the verifier reads it: text columns as UTF-8 bytes."""


class DecodedEntry(NamedTuple):
    seq: int
    at_us: int
    actor: str | None
    action: str | None
    customer_pid: str | None
    purpose: str | None
    fields: str | None
    outcome: str | None
    detail: str | None


def encode_entry_bytes(seq: int, at_us: int, texts: Sequence[bytes | None]) -> bytes:
    """Encode an entry whose seven text slots are already UTF-8 bytes (or ``None``)."""
    if len(texts) != len(TEXT_SLOTS):
        raise ValueError(f"an entry has {len(TEXT_SLOTS)} text slots, not {len(texts)}")
    lengths = [-1 if t is None else len(t) for t in texts]
    return _HEADER.pack(ENTRY_FORMAT, seq, at_us, *lengths) + b"".join(t or b"" for t in texts)


def encode_entry(
    *,
    seq: int,
    at_us: int,
    actor: str | None,
    action: str | None,
    customer_pid: str | None,
    purpose: str | None,
    fields: str | None,
    outcome: str | None,
    detail: str | None,
) -> bytes:
    """The canonical encoding of one entry (see the module docstring for the layout)."""
    texts = (actor, action, customer_pid, purpose, fields, outcome, detail)
    return encode_entry_bytes(seq, at_us, [None if t is None else t.encode() for t in texts])


def decode_entry(data: bytes) -> DecodedEntry:
    """Invert :func:`encode_entry`; raise ``ValueError`` on anything that is not an encoding."""
    if len(data) < _HEADER.size or data[0] != ENTRY_FORMAT:
        raise ValueError("not an audit entry encoding (format 1)")
    _version, seq, at_us, *lengths = _HEADER.unpack_from(data)
    texts: list[str | None] = []
    offset = _HEADER.size
    for length in lengths:
        if length < -1:
            raise ValueError("negative length in an audit entry encoding")
        if length == -1:
            texts.append(None)
            continue
        end = offset + length
        if end > len(data):
            raise ValueError("audit entry encoding is truncated")
        texts.append(data[offset:end].decode())
        offset = end
    if offset != len(data):
        raise ValueError("trailing bytes after an audit entry encoding")
    return DecodedEntry(seq, at_us, *texts)


def entry_hash(prev_hash: bytes, encoded: bytes) -> bytes:
    """``SHA-256(prev_hash || encoded)``: the link of the chain."""
    if len(prev_hash) != HASH_SIZE:
        raise ValueError("prev_hash must be 32 bytes")
    return hashlib.sha256(prev_hash + encoded).digest()


def raw_row_hash(row: RawRow, *, seq: int | None = None) -> bytes:
    """Recompute a fetched row's hash from its stored ``prev_hash`` and content.

    ``seq`` replaces the row's own seq: the verifier uses it to recognise an entry that was
    moved away from the position it was chained at.
    """
    encoded = encode_entry_bytes(row[0] if seq is None else seq, row[1], row[2:9])
    return hashlib.sha256(row[9] + encoded).digest()


def verify_run(rows: Sequence[RawRow], *, expected_seq: int, prev_hash: bytes) -> tuple[int, bytes]:
    """Check consecutive rows against the chain; stop at the first one that does not fit.

    Returns how many leading rows verify (seq continuity, link to the previous hash, stored
    hash equal to the recomputed one) and the chain hash after the last of them.
    """
    pack = _HEADER.pack
    sha256 = hashlib.sha256
    join = b"".join
    version = ENTRY_FORMAT
    running = prev_hash
    count = 0
    for seq, at_us, s0, s1, s2, s3, s4, s5, s6, prev, stored in rows:
        if seq != expected_seq or prev != running:
            break
        header = pack(
            version,
            seq,
            at_us,
            -1 if s0 is None else len(s0),
            -1 if s1 is None else len(s1),
            -1 if s2 is None else len(s2),
            -1 if s3 is None else len(s3),
            -1 if s4 is None else len(s4),
            -1 if s5 is None else len(s5),
            -1 if s6 is None else len(s6),
        )
        digest = sha256(
            join(
                (
                    prev,
                    header,
                    s0 or b"",
                    s1 or b"",
                    s2 or b"",
                    s3 or b"",
                    s4 or b"",
                    s5 or b"",
                    s6 or b"",
                )
            )
        ).digest()
        if digest != stored:
            break
        running = stored
        expected_seq += 1
        count += 1
    return count, running


def checkpoint_message(*, seq: int, at_us: int, chain_hash: bytes) -> bytes:
    """The bytes a checkpoint signature covers: a domain tag, seq, time and chain hash."""
    if len(chain_hash) != HASH_SIZE:
        raise ValueError("a chain hash is 32 bytes")
    return CHECKPOINT_DOMAIN + _CHECKPOINT.pack(seq, at_us) + chain_hash
