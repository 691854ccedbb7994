"""Pseudonymisation: keyed, stable pseudonyms (HMAC-SHA256) and reversible ones (AES-SIV) for
exports and analytics, over single values, Polars series and CSV or Parquet files."""

from confiance.pseudonym.service import OnInvalid, Pseudonymiser

__all__ = ["OnInvalid", "Pseudonymiser"]
