"""Sealed boxes: AES-256-GCM with a version byte, a key id and a bound context.

Layout of every ciphertext (a "token")::

    version (1 byte, 0x01) | key id (8 bytes) | nonce (12 random bytes) | ciphertext + tag (16)

The associated data authenticates the header and the caller's context (for a field value:
the customer id and the field name), so a token moved to another customer or field, or given
a different key id, fails to open. Every failure raises the same :class:`DecryptionFailed`.
"""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from confiance.crypto.errors import DecryptionFailed
from confiance.crypto.secret import Secret

__all__ = [
    "HEADER_SIZE",
    "KEY_ID_SIZE",
    "OVERHEAD",
    "VERSION",
    "SymmetricKey",
    "context",
    "key_id_of",
]

VERSION = 0x01
KEY_ID_SIZE = 8
NONCE_SIZE = 12
TAG_SIZE = 16
HEADER_SIZE = 1 + KEY_ID_SIZE + NONCE_SIZE
OVERHEAD = HEADER_SIZE + TAG_SIZE


def context(*parts: str | bytes) -> bytes:
    """Unambiguous encoding of context parts (each length-prefixed)."""
    out = []
    for part in parts:
        raw = part.encode() if isinstance(part, str) else part
        out.append(len(raw).to_bytes(4, "big"))
        out.append(raw)
    return b"".join(out)


def key_id_of(token: bytes) -> bytes:
    """The key id written in a token's header (raises the opaque error if malformed)."""
    if len(token) < OVERHEAD or token[0] != VERSION:
        raise DecryptionFailed()
    return token[1 : 1 + KEY_ID_SIZE]


class SymmetricKey:
    """A 256-bit AES-GCM key with an 8-byte id, sealing and opening tokens."""

    __slots__ = ("_aead", "id", "material")

    def __init__(self, key_id: bytes, material: Secret) -> None:
        if len(key_id) != KEY_ID_SIZE:
            raise ValueError("a key id is 8 bytes")
        if len(material) != 32:
            raise ValueError("an AES-256 key is 32 bytes")
        self.id = key_id
        self.material = material
        self._aead = AESGCM(material.reveal())

    @classmethod
    def generate(cls, *, label: str = "data key") -> SymmetricKey:
        return cls(
            os.urandom(KEY_ID_SIZE), Secret(AESGCM.generate_key(bit_length=256), label=label)
        )

    def seal(self, plaintext: bytes, *, ctx: bytes) -> bytes:
        nonce = os.urandom(NONCE_SIZE)
        header = bytes((VERSION,)) + self.id + nonce
        return header + self._aead.encrypt(nonce, plaintext, header + ctx)

    def open(self, token: bytes, *, ctx: bytes) -> bytes:
        if len(token) < OVERHEAD or token[0] != VERSION or token[1 : 1 + KEY_ID_SIZE] != self.id:
            raise DecryptionFailed()
        header = token[:HEADER_SIZE]
        try:
            return self._aead.decrypt(
                token[1 + KEY_ID_SIZE : HEADER_SIZE], token[HEADER_SIZE:], header + ctx
            )
        except InvalidTag:
            raise DecryptionFailed() from None

    def __repr__(self) -> str:
        return f"<SymmetricKey id={self.id.hex()} ****>"
