"""Sealing keys derived from the key ring, for small secrets kept in the database.

Customer data keys are wrapped under a KEK and rewrapped by ``confiance keys rotate``; a secret
sealed under a KEK by any other domain would become unreadable the moment rotation retires that
KEK, unless rotation learnt to rewrap it too. Configuration secrets (a webhook's signing secret)
are sealed instead under a key derived with HKDF-SHA256 from the ring's blind-index root, which
is never rotated (rotating it would mean recomputing every blind index). The ``purpose`` is
part of the HKDF info, so each use gets an unrelated key; the caller still binds each sealed
secret to its owner through the context, as for any token.

The derived key's 8-byte id comes out of the same HKDF output, so a token records which derived
key sealed it and fails (opaquely) under any other.
"""

from __future__ import annotations

import re

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from confiance.crypto.aead import KEY_ID_SIZE, SymmetricKey
from confiance.crypto.keyring import Keyring
from confiance.crypto.secret import Secret

__all__ = ["derived_key"]

_PURPOSE = re.compile(r"[a-z][a-z0-9-]{0,63}")


def derived_key(ring: Keyring, purpose: str) -> SymmetricKey:
    """The sealing key for ``purpose`` (lower-case words joined by ``-``), stable across KEK
    rotations."""
    if not _PURPOSE.fullmatch(purpose):
        raise ValueError("a derived key purpose is lower-case letters, digits and '-'")
    okm = HKDF(
        algorithm=hashes.SHA256(),
        length=32 + KEY_ID_SIZE,
        salt=None,
        info=b"confiance/derived-key/v1/" + purpose.encode(),
    ).derive(ring.blind_index_key.reveal())
    return SymmetricKey(okm[32:], Secret(okm[:32], label=f"{purpose} key"))
