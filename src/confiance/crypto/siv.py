"""Deterministic sealing (AES-SIV, RFC 5297) for pseudonyms that an authorised person may reverse.

A reversible pseudonym must be stable (the same e-mail gives the same token, so pseudonymised
tables still join) and must open again with the key. AES-GCM cannot give the first without
reusing nonces, which breaks it; AES-SIV is built for exactly this and reveals only whether two
plaintexts (in the same context) are equal.

Layout of every token::

    version (1 byte, 0x01) | key id (8 bytes) | SIV (16 bytes) | ciphertext (as long as the value)

The header and the caller's context (for a pseudonym: its domain) are the associated data, so
a token moved to another domain, or given another key id, fails to open, with the same opaque
:class:`DecryptionFailed` as every other failure.

The key comes out of HKDF-SHA256 over the ring's blind-index root, which is never rotated, so a
token written today still opens after any KEK rotation; the ``purpose`` in the HKDF info keeps
it unrelated to every other derived key.
"""

from __future__ import annotations

import re

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESSIV
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from confiance.crypto.aead import KEY_ID_SIZE
from confiance.crypto.errors import DecryptionFailed
from confiance.crypto.keyring import Keyring
from confiance.crypto.secret import Secret

__all__ = ["DeterministicKey", "deterministic_key"]

VERSION = 0x01
SIV_SIZE = 16
HEADER_SIZE = 1 + KEY_ID_SIZE
_KEY_SIZE = 64  # AES-256-SIV: two 256-bit keys
_PURPOSE = re.compile(r"[a-z][a-z0-9-]{0,63}")


class DeterministicKey:
    """An AES-256-SIV key with an 8-byte id: equal plaintexts in equal contexts give equal
    tokens."""

    __slots__ = ("_siv", "id")

    def __init__(self, key_id: bytes, material: Secret) -> None:
        if len(key_id) != KEY_ID_SIZE:
            raise ValueError("a key id is 8 bytes")
        if len(material) != _KEY_SIZE:
            raise ValueError("an AES-256-SIV key is 64 bytes")
        self.id = key_id
        self._siv = AESSIV(material.reveal())

    def seal(self, plaintext: bytes, *, ctx: bytes) -> bytes:
        header = bytes((VERSION,)) + self.id
        return header + self._siv.encrypt(plaintext, [header, ctx])

    def open(self, token: bytes, *, ctx: bytes) -> bytes:
        if (
            len(token) < HEADER_SIZE + SIV_SIZE
            or token[0] != VERSION
            or token[1:HEADER_SIZE] != self.id
        ):
            raise DecryptionFailed()
        header = token[:HEADER_SIZE]
        try:
            return self._siv.decrypt(token[HEADER_SIZE:], [header, ctx])
        except InvalidTag:
            raise DecryptionFailed() from None

    def __repr__(self) -> str:
        return f"<DeterministicKey id={self.id.hex()} ****>"


def deterministic_key(ring: Keyring, purpose: str) -> DeterministicKey:
    """The deterministic sealing key for ``purpose`` (lower-case words joined by ``-``), stable
    across KEK rotations and unrelated to :func:`~confiance.crypto.derived.derived_key`'s keys."""
    if not _PURPOSE.fullmatch(purpose):
        raise ValueError("a deterministic key purpose is lower-case letters, digits and '-'")
    okm = HKDF(
        algorithm=hashes.SHA256(),
        length=_KEY_SIZE + KEY_ID_SIZE,
        salt=None,
        info=b"confiance/deterministic-key/v1/" + purpose.encode(),
    ).derive(ring.blind_index_key.reveal())
    return DeterministicKey(okm[_KEY_SIZE:], Secret(okm[:_KEY_SIZE], label=f"{purpose} key"))
