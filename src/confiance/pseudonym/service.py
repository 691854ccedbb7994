"""Keyed pseudonyms: the same value gives the same code, and nobody without the key file can
compute or reverse it.

- :meth:`Pseudonymiser.pseudonym` is HMAC-SHA256 under a key derived (HKDF) from the key ring's
  blind-index root for one *domain*. Each domain gets an unrelated key, so the same e-mail in
  two columns maps to the same code only when both columns are given the same domain. Codes are
  the first 128 bits, in hex: enough to never collide in practice, short enough to read.
- :meth:`Pseudonymiser.seal` is AES-SIV (deterministic), for the cases where an authorised
  person must get the value back (:meth:`Pseudonymiser.reveal`). Tokens are bound to their
  domain and carry the key id.

Values are normalised first, so that ``Anne@Exemple.example`` and ``anne@exemple.example``, or a
phone number written three ways, give one code: a value whose column (or ``field``) is a
manifest field goes through :meth:`FieldSpec.normalize` (e-mail addresses are then lower-cased
as a whole, as the blind index does); any other value is trimmed and put in Unicode NFC form.

The blind-index root is never rotated, so pseudonyms stay stable across KEK rotations.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import unicodedata
from collections.abc import Callable
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from confiance.crypto import BlindIndexer, DecryptionFailed, KeyringSource, context
from confiance.crypto.siv import deterministic_key
from confiance.manifest.errors import InvalidFieldValue
from confiance.manifest.schemas import FieldSpec, FieldType, Manifest
from confiance.pseudonym.errors import InvalidDomain, InvalidValue, TokenNotReversible

if TYPE_CHECKING:
    import polars as pl

__all__ = ["CUSTOMER_DOMAIN", "OnInvalid", "Pseudonymiser"]

#: The domain of customer ids: what the vault shows a pseudonymised purpose instead of the id.
CUSTOMER_DOMAIN = "customer"

_DOMAIN = re.compile(r"[A-Za-z0-9_.\-]{1,64}")
_DIGEST_HEX = 32
# Manifest types whose values arrive as text from a file and have a canonical text form.
_TEXT_TYPES = frozenset(
    {
        FieldType.EMAIL,
        FieldType.PHONE,
        FieldType.STRING,
        FieldType.TEXT,
        FieldType.ENUM,
        FieldType.TOKEN,
    }
)
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), sort_keys=True)


class OnInvalid(StrEnum):
    """What to do with a value its manifest field refuses (an e-mail without ``@``)."""

    ERROR = "error"  # stop, name the column
    RAW = "raw"  # pseudonymise the trimmed value as written
    EMPTY = "empty"  # leave the cell empty


def _check_domain(domain: str) -> str:
    if not _DOMAIN.fullmatch(domain):
        raise InvalidDomain(domain)
    return domain


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise DecryptionFailed() from None


class Pseudonymiser:
    """Pseudonyms under one installation's key ring.

    ``manifest``: the privacy manifest whose field specs normalise values of columns named
    like its fields (``None``: values are only trimmed).
    """

    def __init__(self, keys: KeyringSource, *, manifest: Manifest | None = None) -> None:
        ring = keys.get()
        self.manifest = manifest
        self._indexer = BlindIndexer(ring.blind_index_key)
        self._siv = deterministic_key(ring, "pseudonyms")

    def __repr__(self) -> str:
        return "<Pseudonymiser ****>"

    # -- normalisation ------------------------------------------------------------------------
    def field_spec(self, name: str | None) -> FieldSpec | None:
        if name is None or self.manifest is None:
            return None
        return self.manifest.fields_by_name.get(name)

    @staticmethod
    def _text(value: Any) -> str:
        if isinstance(value, str):
            return unicodedata.normalize("NFC", value.strip())
        return _ENCODER.encode(value)

    def normalise(
        self, value: Any, *, field: str | None = None, spec: FieldSpec | None = None
    ) -> str:
        """The canonical text of ``value`` (see the module docstring); raises the manifest's
        :class:`InvalidFieldValue` when the field's spec (``spec``, or the manifest's spec of
        ``field``) refuses it."""
        spec = spec or self.field_spec(field)
        if spec is None or (spec.type not in _TEXT_TYPES and isinstance(value, str)):
            return self._text(value)
        normalized = spec.normalize(value)
        if spec.type is FieldType.EMAIL and isinstance(normalized, str):
            return normalized.lower()
        return self._text(normalized)

    # -- one value ----------------------------------------------------------------------------
    def pseudonym(self, value: Any, *, domain: str, field: str | None = None) -> str:
        """The stable keyed pseudonym of ``value`` in ``domain`` (32 hex characters)."""
        return self._digest(_check_domain(domain), self.normalise(value, field=field))

    def of_field(self, spec: FieldSpec, value: Any) -> str:
        """The pseudonym of a value of a manifest field, in the field's own domain: what a
        pseudonymised purpose sees, equal to what ``confiance pseudonymise`` writes for a column
        of that name."""
        refused = False
        try:
            text = self.normalise(value, spec=spec)
        except InvalidFieldValue:
            refused = True
        if refused:
            # A stored value the manifest's current rules no longer accept is still coded.
            text = self._text(value)
        return self._digest(_check_domain(spec.name), text)

    def _digest(self, domain: str, text: str) -> str:
        return self._indexer.digest(f"pseudonym/{domain}", text).hex()[:_DIGEST_HEX]

    def customer(self, customer_id: str) -> str:
        """The pseudonym of a customer id, as a pseudonymised purpose sees it."""
        return self._digest(CUSTOMER_DOMAIN, customer_id)

    def seal(self, value: Any, *, domain: str, field: str | None = None) -> str:
        """A reversible pseudonym (URL-safe base64 of an AES-SIV token bound to ``domain``):
        stable like :meth:`pseudonym`, and :meth:`reveal` gives the normalised value back."""
        text = self.normalise(value, field=field)
        return _b64(self._siv.seal(text.encode(), ctx=context("pseudonym", domain)))

    def reveal(self, token: str, *, domain: str) -> str:
        """The normalised value behind a :meth:`seal` token of ``domain``; every failure raises
        the same opaque :class:`DecryptionFailed`."""
        _check_domain(domain)
        plain = self._siv.open(_unb64(token), ctx=context("pseudonym", domain))
        return plain.decode()

    # -- columns ------------------------------------------------------------------------------
    def series_function(
        self,
        *,
        column: str,
        domain: str | None = None,
        field: str | None = None,
        reversible: bool = False,
        on_invalid: OnInvalid = OnInvalid.ERROR,
    ) -> Callable[[pl.Series], pl.Series]:
        """A function from a column's values to their pseudonyms (nulls stay null), for
        ``pl.col(column).map_batches``. ``domain`` defaults to ``column``; values are normalised
        through the manifest's spec of ``field``, by default the column's own field, or else
        the domain's (a ``billing_email`` column given the domain ``email``)."""
        domain = _check_domain(column if domain is None else domain)
        if field is None:
            # A column sharing the domain of a manifest field holds values of that field.
            field = column if self.field_spec(column) is not None else domain
        spec = self.field_spec(field)
        ctx = context("pseudonym", domain)
        key = f"pseudonym/{domain}"
        indexer, siv = self._indexer, self._siv
        normalise = self.normalise

        def one(text: str) -> str:
            if reversible:
                return _b64(siv.seal(text.encode(), ctx=ctx))
            return indexer.digest(key, text).hex()[:_DIGEST_HEX]

        def convert(value: str) -> str | None:
            refused = False
            try:
                text = normalise(value, field=field)
            except InvalidFieldValue:
                refused = True
            if refused:
                # Decided here rather than in the except block, so that no chained exception
                # carries the refused value.
                if on_invalid is OnInvalid.EMPTY:
                    return None
                if on_invalid is OnInvalid.ERROR:
                    raise InvalidValue(
                        column=column, expected=spec.expected() if spec else "a valid value"
                    )
                text = self._text(value)
            return one(text)

        def apply(series: pl.Series) -> pl.Series:
            import polars as pl

            values = series.cast(pl.String).to_list()
            return pl.Series(
                series.name,
                [None if v is None else convert(v) for v in values],
                dtype=pl.String,
            )

        return apply

    def reverse_function(self, *, column: str, domain: str) -> Callable[[pl.Series], pl.Series]:
        """The inverse of a reversible :meth:`series_function`; a value that is not a token of
        this key ring and domain raises :class:`TokenNotReversible` naming the column."""
        ctx = context("pseudonym", _check_domain(domain))
        siv = self._siv

        def reveal(token: str) -> str:
            try:
                return siv.open(_unb64(token), ctx=ctx).decode()
            except (DecryptionFailed, UnicodeDecodeError):
                pass
            raise TokenNotReversible(column=column)

        def apply(series: pl.Series) -> pl.Series:
            import polars as pl

            values = series.cast(pl.String).to_list()
            return pl.Series(
                series.name, [None if v is None else reveal(v) for v in values], dtype=pl.String
            )

        return apply
