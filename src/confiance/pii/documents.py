"""Files to scan: plain text (line by line), CSV (chosen columns) and JSON (string leaves).

A document is cut into cells, each with a location a person can find again ("line 4",
"row 12, column notes", "$.tickets[0].body"); all cells are scanned in one batch, and the
document can be written back with every finding rewritten by an operator.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from confiance.pii.engine import Scanner
from confiance.pii.errors import UnreadableInput
from confiance.pii.findings import Finding
from confiance.pii.operators import Operator, anonymize

__all__ = ["Document", "DocumentKind", "Located", "load_document"]


class DocumentKind(StrEnum):
    TEXT = "text"
    CSV = "csv"
    JSON = "json"


@dataclass(frozen=True, slots=True)
class Located:
    """A finding and the cell it is in."""

    location: str
    finding: Finding


@dataclass
class Document:
    kind: DocumentKind
    locations: list[str]
    cells: list[str]
    _rebuild: Any

    def scan(self, scanner: Scanner, *, language: str = "auto") -> list[list[Finding]]:
        """Findings per cell, in the order of :attr:`cells`."""
        return scanner.scan_many(self.cells, language=language)

    def locate(self, results: Sequence[Sequence[Finding]]) -> list[Located]:
        """Each finding with the location of its cell."""
        return [
            Located(where, f)
            for where, found in zip(self.locations, results, strict=True)
            for f in found
        ]

    def rewrite(self, results: Sequence[Sequence[Finding]], operator: Operator | str) -> str:
        """The document, same format, with every finding rewritten by ``operator``."""
        cells = [
            anonymize(cell, found, operator) if found else cell
            for cell, found in zip(self.cells, results, strict=True)
        ]
        rebuilt: str = self._rebuild(cells)
        return rebuilt


def kind_of(path: Path) -> DocumentKind:
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return DocumentKind.CSV
    if suffix in {".json", ".jsonl"}:
        return DocumentKind.JSON
    return DocumentKind.TEXT


def load_document(
    path: Path, *, columns: Sequence[str] | None = None, kind: DocumentKind | None = None
) -> Document:
    """Read ``path`` as text, CSV or JSON (by its suffix unless ``kind`` is given).

    ``columns`` restricts the scan to those CSV columns, or to the values under those keys in
    JSON objects; plain text has no columns.
    """
    kind = kind or kind_of(path)
    try:
        raw = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise UnreadableInput(source=path.name, reason=type(exc).__name__) from None
    if kind is DocumentKind.CSV:
        return _csv(raw, path.name, columns)
    if kind is DocumentKind.JSON:
        return _json(raw, path.name, columns)
    if columns:
        raise UnreadableInput(source=path.name, reason="--columns applies to CSV and JSON only")
    return _text(raw)


def _text(raw: str) -> Document:
    lines = raw.split("\n")
    return Document(
        DocumentKind.TEXT,
        [f"line {i}" for i in range(1, len(lines) + 1)],
        lines,
        lambda cells: "\n".join(cells),
    )


def _csv(raw: str, source: str, columns: Sequence[str] | None) -> Document:
    try:
        dialect = csv.Sniffer().sniff(raw[:4096], delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel()  # type: ignore[assignment]
    rows = list(csv.reader(io.StringIO(raw), dialect))
    if not rows:
        raise UnreadableInput(source=source, reason="the file is empty")
    header = rows[0]
    wanted = list(columns) if columns else header
    missing = [c for c in wanted if c not in header]
    if missing:
        raise UnreadableInput(
            source=source, reason=f"no column named {', '.join(missing)} in its header"
        )
    indices = [header.index(c) for c in wanted]
    where: list[tuple[int, int]] = []
    locations: list[str] = []
    cells: list[str] = []
    for r, row in enumerate(rows[1:], start=1):
        for c in indices:
            if c < len(row) and row[c]:
                where.append((r, c))
                locations.append(f"row {r}, column {header[c]}")
                cells.append(row[c])

    def rebuild(new: list[str]) -> str:
        out_rows = [list(row) for row in rows]
        for (r, c), value in zip(where, new, strict=True):
            out_rows[r][c] = value
        buffer = io.StringIO()
        writer = csv.writer(buffer, dialect, lineterminator="\n")
        writer.writerows(out_rows)
        return buffer.getvalue()

    return Document(DocumentKind.CSV, locations, cells, rebuild)


def _json(raw: str, source: str, columns: Sequence[str] | None) -> Document:
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise UnreadableInput(
            source=source, reason=f"not JSON (line {exc.lineno}, column {exc.colno})"
        ) from None
    keys = frozenset(columns) if columns else None
    paths: list[tuple[Any, ...]] = []
    locations: list[str] = []
    cells: list[str] = []

    def walk(value: Any, path: tuple[Any, ...], selected: bool) -> None:
        if isinstance(value, str):
            if selected:
                paths.append(path)
                locations.append(_json_path(path))
                cells.append(value)
        elif isinstance(value, dict):
            for key, item in value.items():
                walk(item, (*path, key), selected or (keys is not None and key in keys))
        elif isinstance(value, list):
            for i, item in enumerate(value):
                walk(item, (*path, i), selected)

    walk(data, (), keys is None)

    def rebuild(new: list[str]) -> str:
        copy = json.loads(raw)
        for path, value in zip(paths, new, strict=True):
            if not path:
                copy = value
                continue
            target = copy
            for step in path[:-1]:
                target = target[step]
            target[path[-1]] = value
        return json.dumps(copy, ensure_ascii=False, indent=2) + "\n"

    return Document(DocumentKind.JSON, locations, cells, rebuild)


def _json_path(path: tuple[Any, ...]) -> str:
    out = "$"
    for step in path:
        out += f"[{step}]" if isinstance(step, int) else f".{step}"
    return out
