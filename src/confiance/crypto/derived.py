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

Derivation (HKDF, then an AES-GCM key object) costs more than the sealing it serves, and runs on
every request of some domains: the last key per purpose is kept while the ring is the same
object (a reloaded key file gives a new ring, hence new keys).

:func:`keyed_digest` is the other recipe over derived keys: an HMAC-SHA256 for secrets that
are checked and never read back (one-time codes); :func:`same_digest` compares two in constant
time.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import threading

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from confiance.crypto.aead import KEY_ID_SIZE, SymmetricKey
from confiance.crypto.keyring import Keyring
from confiance.crypto.secret import Secret

__all__ = ["derived_key", "keyed_digest", "same_digest"]

_PURPOSE = re.compile(r"[a-z][a-z0-9-]{0,63}")
_cache: dict[str, tuple[Keyring, SymmetricKey]] = {}
_cache_lock = threading.Lock()


def derived_key(ring: Keyring, purpose: str) -> SymmetricKey:
    """The sealing key for ``purpose`` (lower-case words joined by ``-``), stable across KEK
    rotations."""
    hit = _cache.get(purpose)
    if hit is not None and hit[0] is ring:
        return hit[1]
    key = _derive(ring, purpose)
    with _cache_lock:
        _cache[purpose] = (ring, key)
    return key


def keyed_digest(ring: Keyring, purpose: str, message: bytes) -> bytes:
    """HMAC-SHA256 of ``message`` under the key derived for ``purpose``."""
    return hmac.new(derived_key(ring, purpose).material.reveal(), message, hashlib.sha256).digest()


def token_digest(token: str) -> bytes:
    """SHA-256 of a random bearer token (an API key's secret, a download link's token), kept
    instead of the token: the token carries enough entropy that no key or slow hash is needed,
    and a leaked digest cannot be presented."""
    return hashlib.sha256(token.encode()).digest()


def same_digest(a: bytes, b: bytes) -> bool:
    """Whether two digests are equal, in time independent of where they differ."""
    return hmac.compare_digest(a, b)


def _derive(ring: Keyring, purpose: str) -> SymmetricKey:
    if not _PURPOSE.fullmatch(purpose):
        raise ValueError("a derived key purpose is lower-case letters, digits and '-'")
    okm = HKDF(
        algorithm=hashes.SHA256(),
        length=32 + KEY_ID_SIZE,
        salt=None,
        info=b"confiance/derived-key/v1/" + purpose.encode(),
    ).derive(ring.blind_index_key.reveal())
    return SymmetricKey(okm[32:], Secret(okm[:32], label=f"{purpose} key"))
