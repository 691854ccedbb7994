"""Errors of the crypto recipe layer."""

from __future__ import annotations

from confiance.errors import ConfianceError, ConfigurationError

__all__ = ["CryptoError", "DecryptionFailed", "KeyringError", "SignatureInvalid"]


class CryptoError(ConfianceError):
    code = "crypto"
    status = 500
    title = "Cryptographic failure"


class DecryptionFailed(CryptoError):
    """Opaque on purpose: a wrong key, a wrong context, a truncated or altered ciphertext and an
    unknown key id all look the same from outside, so failures leak nothing."""

    code = "decryption-failed"
    title = "Data could not be decrypted"

    def __init__(self) -> None:
        super().__init__("The data could not be decrypted.")


class SignatureInvalid(CryptoError):
    code = "signature-invalid"
    title = "Signature does not verify"

    def __init__(self) -> None:
        super().__init__("The signature does not verify with this public key.")


class KeyringError(ConfigurationError):
    code = "keyring"
    title = "Key ring unavailable or unsafe"
