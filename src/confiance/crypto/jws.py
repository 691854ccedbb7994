"""Compact JWS signed with Ed25519, for documents a customer keeps and anyone can check.

A consent receipt leaves Confiance: the customer downloads it and shows it to whoever they
like. So it is signed in the most widely read format for signed JSON, a compact JWS
(RFC 7515) with ``alg: EdDSA`` over an Ed25519 key (RFC 8037), and the public key is
published as a JWK. Any JOSE library can then verify a receipt without Confiance.

Choices, and why:

- ``alg`` is ``EdDSA``, the name every JOSE library reads today. RFC 9864 deprecates it in
  favour of the fully specified ``Ed25519``, because ``EdDSA`` alone does not say which curve;
  here the verifier always holds an Ed25519 key, so there is no ambiguity. :func:`verify_jws`
  already accepts ``Ed25519`` too, so signing can move to it once libraries have caught up.
- The ``kid`` is chosen by the caller; :func:`jwk_thumbprint` (RFC 7638) gives one that anyone
  can recompute from the published key.
- Verification is stricter than RFC 7515 requires, since it only reads tokens Confiance made:
  the protected header may only carry ``alg``, ``typ`` and ``kid``; base64url must be
  canonical (no padding, no stray bits, so a token has exactly one spelling); JSON must not
  repeat a member. Every failure, whatever its cause, raises the same
  :class:`SignatureInvalid`: verification never returns a boolean.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Mapping
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwa import EdDSAAlgorithm
from joserfc.jwk import OKPKey

from confiance.crypto.errors import SignatureInvalid
from confiance.crypto.keyring import Keyring
from confiance.crypto.secret import Secret
from confiance.crypto.signing import Signer

__all__ = [
    "ALGORITHM",
    "RECEIPT_KEY_INFO",
    "jwk_thumbprint",
    "public_jwk",
    "public_key_from_jwk",
    "receipt_signing_seed",
    "sign_compact",
    "sign_jws",
    "verify_compact",
    "verify_jws",
]

ALGORITHM = "EdDSA"
RECEIPT_KEY_INFO = b"confiance/receipts/v1"

_ACCEPTED_ALGORITHMS = frozenset({"EdDSA", "Ed25519"})
_HEADER_MEMBERS = frozenset({"alg", "typ", "kid"})
_KEY_SIZE = 32


class _EdDSA(EdDSAAlgorithm):
    """joserfc's ``EdDSA`` without its RFC 9864 deprecation warning.

    The warning is about verifiers that cannot tell Ed25519 from Ed448 by the ``alg`` name.
    Keys here are always built from 32 raw bytes as Ed25519, so it does not apply; keeping it
    would turn every signature into a warning, and tests make warnings errors.
    """

    # Empty rather than None: joserfc declares a ``str`` here and warns only when it is truthy.
    security_warning = ""


class _Registry(jws.JWSRegistry):
    """Only the two names of Ed25519 signing; ``none``, HMAC and RSA cannot be selected."""

    algorithms = {  # noqa: RUF012 (joserfc's registries are configured through class attributes)
        "EdDSA": _EdDSA(),
        "Ed25519": jws.JWSRegistry.algorithms["Ed25519"],
    }
    recommended: list[str] = []  # noqa: RUF012


_REGISTRY = _Registry(algorithms=sorted(_ACCEPTED_ALGORITHMS))


# -- keys -----------------------------------------------------------------------------------
def receipt_signing_seed(ring: Keyring) -> Secret:
    """The Ed25519 seed that signs consent receipts, derived from the audit signing key.

    Receipts and audit checkpoints are different statements and must not share a key: a
    signature made for one could otherwise be presented as the other. Deriving the receipt key
    with HKDF-SHA256 (info ``confiance/receipts/v1``) gives it its own key without a new entry
    in the key file, whose format stays as it is; rotating the audit key rotates this one.
    """
    derived = HKDF(
        algorithm=hashes.SHA256(),
        length=_KEY_SIZE,
        salt=None,
        info=RECEIPT_KEY_INFO,
    ).derive(ring.audit_signing_key.reveal())
    return Secret(derived, label="receipt signing key")


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _decode_b64url(text: str) -> bytes | None:
    """Base64url without padding, or None for any other spelling of the same bytes."""
    if not text.isascii():
        return None
    try:
        raw = base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError):
        return None
    return raw if _b64url(raw) == text else None


def _check_public_key(public_key: bytes) -> None:
    if not isinstance(public_key, bytes) or len(public_key) != _KEY_SIZE:
        raise ValueError("an Ed25519 public key is 32 raw bytes")


def public_jwk(public_key: bytes, kid: str) -> dict[str, str]:
    """The public key as an OKP JWK (RFC 8037), for publishing next to the receipts it signs."""
    _check_public_key(public_key)
    return {
        "kty": "OKP",
        "crv": "Ed25519",
        "x": _b64url(public_key),
        "kid": kid,
        "use": "sig",
        "alg": ALGORITHM,
    }


def public_key_from_jwk(jwk: Mapping[str, Any]) -> bytes:
    """The raw Ed25519 public key of an OKP JWK: the inverse of :func:`public_jwk`."""
    x = jwk.get("x")
    if jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519" or not isinstance(x, str):
        raise ValueError("not an Ed25519 public JWK (kty OKP, crv Ed25519, x)")
    raw = _decode_b64url(x)
    if raw is None or len(raw) != _KEY_SIZE:
        raise ValueError("the JWK's 'x' is not 32 bytes of base64url")
    return raw


def jwk_thumbprint(public_key: bytes) -> str:
    """The RFC 7638 SHA-256 thumbprint of an Ed25519 public key: a ``kid`` anyone can check."""
    _check_public_key(public_key)
    # RFC 7638: the required members only, in lexicographic order, without whitespace.
    canonical = json.dumps(
        {"crv": "Ed25519", "kty": "OKP", "x": _b64url(public_key)}, separators=(",", ":")
    )
    return _b64url(hashlib.sha256(canonical.encode("ascii")).digest())


# Importing a key costs more than signing with it; keep the few in use (by seed object, held
# so that its id cannot be reused by another while cached).
_IMPORTED: dict[int, tuple[Secret, OKPKey]] = {}


def _private_key(seed: Secret) -> OKPKey:
    hit = _IMPORTED.get(id(seed))
    if hit is not None and hit[0] is seed:
        return hit[1]
    if len(seed) != _KEY_SIZE:
        raise ValueError("an Ed25519 seed is 32 bytes")
    # Through a JWK rather than a key object: every joserfc 1.x imports this form.
    public_key = Signer(seed).public_key
    key = OKPKey.import_key(
        {"kty": "OKP", "crv": "Ed25519", "x": _b64url(public_key), "d": _b64url(seed.reveal())}
    )
    if len(_IMPORTED) >= 8:
        _IMPORTED.clear()
    _IMPORTED[id(seed)] = (seed, key)
    return key


def _public_key(public_key: bytes) -> OKPKey:
    return OKPKey.import_key({"kty": "OKP", "crv": "Ed25519", "x": _b64url(public_key)})


# -- signing --------------------------------------------------------------------------------
def sign_compact(
    payload: bytes, *, seed: Secret, kid: str | None = None, typ: str | None = None
) -> str:
    """A compact JWS of ``payload`` with protected header ``{"alg", "typ"?, "kid"?}``.

    Ed25519 is deterministic, so the same inputs always give the same token; this is what
    lets the tests reproduce RFC 8037's published example byte for byte.
    """
    header: dict[str, str] = {"alg": ALGORITHM}
    if typ is not None:
        header["typ"] = typ
    if kid is not None:
        header["kid"] = kid
    return jws.serialize_compact(header, payload, _private_key(seed), registry=_REGISTRY)


def sign_jws(payload: Mapping[str, Any], *, seed: Secret, kid: str, typ: str = "JWT") -> str:
    """A compact JWS of a JSON object; ``typ`` names what it is (RFC 8725, explicit typing)."""
    body = json.dumps(payload, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    return sign_compact(body.encode("utf-8"), seed=seed, kid=kid, typ=typ)


# -- verification ---------------------------------------------------------------------------
def _strict_b64url(segment: str) -> bytes:
    raw = _decode_b64url(segment)
    if raw is None:
        raise SignatureInvalid()
    return raw


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        raise ValueError("a JSON member is repeated")
    return out


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _json_object(raw: bytes) -> dict[str, Any]:
    try:
        value = json.loads(
            raw.decode("utf-8"),
            object_pairs_hook=_no_duplicates,
            parse_constant=_refuse_constant,
        )
    except (ValueError, RecursionError):
        raise SignatureInvalid() from None
    if not isinstance(value, dict):
        raise SignatureInvalid()
    return value


def verify_compact(token: str, *, public_key: bytes) -> tuple[dict[str, Any], bytes]:
    """The protected header and payload of a compact JWS signed by ``public_key``.

    Raises :class:`SignatureInvalid` for any failure: wrong key, altered or truncated token,
    a header with other members than ``alg``, ``typ`` and ``kid``, an algorithm other than
    Ed25519, non-canonical base64url.
    """
    if not isinstance(token, str) or not token.isascii():
        raise SignatureInvalid()
    segments = token.split(".")
    if len(segments) != 3:
        raise SignatureInvalid()
    header_raw, payload, _signature = (_strict_b64url(segment) for segment in segments)
    header = _json_object(header_raw)
    if not header.keys() <= _HEADER_MEMBERS or header.get("alg") not in _ACCEPTED_ALGORITHMS:
        raise SignatureInvalid()
    if not all(isinstance(value, str) for value in header.values()):
        raise SignatureInvalid()
    if not isinstance(public_key, bytes) or len(public_key) != _KEY_SIZE:
        raise SignatureInvalid()
    try:
        key = _public_key(public_key)
        verified = jws.deserialize_compact(token, key, registry=_REGISTRY)
    except (JoseError, ValueError, TypeError):
        raise SignatureInvalid() from None
    # Belt and braces: what was verified is what was parsed above.
    if verified.payload != payload:
        raise SignatureInvalid()
    return header, payload


def verify_jws(token: str, *, public_key: bytes, typ: str | None = None) -> dict[str, Any]:
    """The JSON object a compact JWS carries, once its Ed25519 signature is verified.

    With ``typ``, the protected header must name exactly that type, so a token signed for
    another use is refused even under the same key.
    """
    header, payload = verify_compact(token, public_key=public_key)
    if typ is not None and header.get("typ") != typ:
        raise SignatureInvalid()
    return _json_object(payload)
