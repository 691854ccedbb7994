"""Blind indexes: find a customer by e-mail or phone without decrypting anything.

Each field gets its own HMAC-SHA256 key, derived from the ring's blind-index key with HKDF, so
equal values in two fields give unrelated digests. Values are normalised by the caller first.
"""

from __future__ import annotations

import hmac
from hashlib import sha256

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from confiance.crypto.secret import Secret

__all__ = ["BlindIndexer", "hmac_sha256"]


def hmac_sha256(key: bytes, message: bytes) -> bytes:
    return hmac.new(key, message, sha256).digest()


class BlindIndexer:
    __slots__ = ("_keys", "_root")

    def __init__(self, root: Secret) -> None:
        self._root = root
        self._keys: dict[str, bytes] = {}

    def _key(self, field: str) -> bytes:
        key = self._keys.get(field)
        if key is None:
            key = HKDF(
                algorithm=hashes.SHA256(),
                length=32,
                salt=None,
                info=b"confiance/blind-index/v1/" + field.encode(),
            ).derive(self._root.reveal())
            self._keys[field] = key
        return key

    def digest(self, field: str, normalized: str) -> bytes:
        return hmac.new(self._key(field), normalized.encode(), sha256).digest()

    def __repr__(self) -> str:
        return "<BlindIndexer ****>"
