"""The crypto recipe layer: the only module that touches raw primitives.

- :class:`SymmetricKey` seals and opens tokens (AES-256-GCM, version byte, key id, context).
- :class:`Keyring` wraps per-customer data keys under the primary KEK and rotates.
- :class:`BlindIndexer` computes keyed digests for look-ups.
- :class:`Signer` / :func:`verify_signature` sign audit checkpoints with Ed25519.
- :func:`sign_jws` / :func:`verify_jws` sign documents that leave Confiance (consent receipts)
  as compact JWS, with a key kept apart by :func:`receipt_signing_seed`.
"""

from confiance.crypto.aead import SymmetricKey, context
from confiance.crypto.blind import BlindIndexer, hmac_sha256
from confiance.crypto.errors import CryptoError, DecryptionFailed, KeyringError, SignatureInvalid
from confiance.crypto.jws import (
    jwk_thumbprint,
    public_jwk,
    receipt_signing_seed,
    sign_jws,
    verify_jws,
)
from confiance.crypto.keyring import Kek, Keyring, KeyringSource, write_keyring
from confiance.crypto.secret import Secret
from confiance.crypto.signing import Signer, verify_signature

__all__ = [
    "BlindIndexer",
    "CryptoError",
    "DecryptionFailed",
    "Kek",
    "Keyring",
    "KeyringError",
    "KeyringSource",
    "Secret",
    "SignatureInvalid",
    "Signer",
    "SymmetricKey",
    "context",
    "hmac_sha256",
    "jwk_thumbprint",
    "public_jwk",
    "receipt_signing_seed",
    "sign_jws",
    "verify_jws",
    "verify_signature",
    "write_keyring",
]
