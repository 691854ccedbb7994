"""The backup file: gzip-compressed JSON lines, independent of the database backend.

::

    {"format": "confiance-backup", "version": 1, "revision": "0003", "created_at": ...,
     "confiance_version": "0.1.0", "tables": [{"name": ..., "columns": [[name, kind], ...],
     "rows": N}, ...]}
    {"t": "crypto_keks", "v": [...]}            one line per row, values in column order
    ...
    {"end": "confiance-backup", "rows": N, "sha256": "..."}

Each column has a *kind* that says how its values are written: ``bytes`` as base64,
``datetime`` as ISO 8601 with its offset, ``uuid`` as text, ``json`` as the JSON value itself,
``int``, ``str`` and ``bool`` as themselves. The header carries the kinds, so a file is read
without the models of the version that wrote it. The trailer holds the SHA-256 of every
(uncompressed) byte before it and the number of rows: a truncated or altered file is refused
before anything is restored.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import uuid
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from sqlalchemy import JSON, Boolean, Column, DateTime, Integer, LargeBinary, String, Text, Uuid
from sqlalchemy.types import TypeEngine

from confiance.backup.errors import BackupInvalid
from confiance.db.base import UtcDateTime

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "BackupHeader",
    "BackupReader",
    "BackupWriter",
    "TableInfo",
    "column_kind",
    "decode_value",
    "encode_value",
    "type_for_kind",
]

FORMAT = "confiance-backup"
FORMAT_VERSION = 1


@dataclass(frozen=True, slots=True)
class TableInfo:
    name: str
    columns: tuple[tuple[str, str], ...]
    """(column name, kind), in the order of each row's values."""
    rows: int

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.columns)


@dataclass(frozen=True, slots=True)
class BackupHeader:
    revision: str
    created_at: datetime
    confiance_version: str
    tables: tuple[TableInfo, ...]
    version: int = FORMAT_VERSION

    @property
    def total_rows(self) -> int:
        return sum(t.rows for t in self.tables)

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "version": self.version,
            "revision": self.revision,
            "created_at": self.created_at.isoformat(),
            "confiance_version": self.confiance_version,
            "tables": [
                {"name": t.name, "columns": [list(c) for c in t.columns], "rows": t.rows}
                for t in self.tables
            ],
        }

    @classmethod
    def from_json(cls, doc: Any) -> BackupHeader:
        """``ValueError`` (with a reason fit for a message) unless ``doc`` is a header this
        version can read."""
        if not isinstance(doc, dict) or doc.get("format") != FORMAT:
            raise ValueError("it is not a Confiance backup")
        if doc.get("version") != FORMAT_VERSION:
            raise ValueError(
                f"its format version {doc.get('version')!r} is not {FORMAT_VERSION}; restore it "
                "with the Confiance version that made it"
            )
        try:
            tables = tuple(
                TableInfo(
                    name=str(t["name"]),
                    columns=tuple((str(n), str(k)) for n, k in t["columns"]),
                    rows=int(t["rows"]),
                )
                for t in doc["tables"]
            )
            header = cls(
                revision=str(doc["revision"]),
                created_at=datetime.fromisoformat(doc["created_at"]),
                confiance_version=str(doc["confiance_version"]),
                tables=tables,
            )
        except (KeyError, TypeError, ValueError):
            raise ValueError("its header is malformed") from None
        for table in tables:
            for _, kind in table.columns:
                if kind not in _KIND_TYPES:
                    raise ValueError(f"column kind {kind!r} of table {table.name} is unknown")
        return header


# -- values -----------------------------------------------------------------------------------
_KIND_TYPES: dict[str, TypeEngine[Any]] = {
    "bytes": LargeBinary(),
    "datetime": UtcDateTime(),
    "uuid": Uuid(),
    "json": JSON(),
    "bool": Boolean(),
    "int": Integer(),
    "str": Text(),
}


def column_kind(column: Column[Any]) -> str:
    """How values of ``column`` are written; ``TypeError`` for a type the format lacks (add a
    kind rather than let a value be written in a way it cannot be read back)."""
    kind_of = column.type
    for cls, kind in (
        (UtcDateTime, "datetime"),
        (DateTime, "datetime"),
        (LargeBinary, "bytes"),
        (Uuid, "uuid"),
        (JSON, "json"),
        (Boolean, "bool"),
        (Integer, "int"),
        (String, "str"),
    ):
        if isinstance(kind_of, cls):
            return kind
    raise TypeError(f"column {column} has a type the backup format does not know: {kind_of!r}")


def type_for_kind(kind: str) -> TypeEngine[Any]:
    """A column type that binds values of ``kind`` as the models do (for tables or columns the
    running version's models no longer have)."""
    return _KIND_TYPES[kind]


def encode_value(kind: str, value: Any) -> Any:
    if value is None:
        return None
    if kind == "bytes":
        return base64.b64encode(value).decode("ascii")
    if kind == "datetime":
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not written to a backup")
        return value.isoformat()
    if kind == "uuid":
        return str(value)
    return value


def decode_value(kind: str, value: Any) -> Any:
    if value is None:
        return None
    if kind == "bytes":
        return base64.b64decode(value, validate=True)
    if kind == "datetime":
        moment = datetime.fromisoformat(value)
        if moment.tzinfo is None:
            raise ValueError("naive datetime")
        return moment
    if kind == "uuid":
        return uuid.UUID(value)
    if kind == "int" and (not isinstance(value, int) or isinstance(value, bool)):
        raise ValueError("not an integer")
    if kind == "bool" and not isinstance(value, bool):
        raise ValueError("not a boolean")
    if kind == "str" and not isinstance(value, str):
        raise ValueError("not a string")
    return value


# -- writing ----------------------------------------------------------------------------------
class BackupWriter:
    """Writes the header, the rows (table by table, in header order) and the trailer."""

    def __init__(self, stream: IO[bytes], header: BackupHeader) -> None:
        self._stream = stream
        self._hash = hashlib.sha256()
        self._rows = 0
        self._kinds = {t.name: [k for _, k in t.columns] for t in header.tables}
        self._line(header.to_json())

    def _line(self, doc: Any) -> None:
        data = json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode() + b"\n"
        self._hash.update(data)
        self._stream.write(data)

    def row(self, table: str, values: tuple[Any, ...]) -> None:
        kinds = self._kinds[table]
        self._line(
            {"t": table, "v": [encode_value(k, v) for k, v in zip(kinds, values, strict=True)]}
        )
        self._rows += 1

    def finish(self) -> str:
        """Write the trailer; return the SHA-256 it holds (hex)."""
        digest = self._hash.hexdigest()
        trailer = {"end": FORMAT, "rows": self._rows, "sha256": digest}
        self._stream.write(json.dumps(trailer, separators=(",", ":")).encode() + b"\n")
        return digest


# -- reading ----------------------------------------------------------------------------------
class BackupReader:
    """Reads a backup as a stream; :meth:`rows` raises :class:`BackupInvalid` at the first sign
    of damage, and only returns normally once the trailer has been checked.

    Use as a context manager: the header is read on entry.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._file: gzip.GzipFile | None = None
        self._hash = hashlib.sha256()
        self.sha256: str | None = None
        self.header: BackupHeader

    def __enter__(self) -> BackupReader:
        try:
            self._file = gzip.open(self.path, "rb")
        except OSError as exc:
            raise BackupInvalid(self.path, f"it cannot be opened ({exc.strerror or exc})") from None
        first = self._next_line()
        if first is None:
            raise BackupInvalid(self.path, "it is empty")
        try:
            self.header = BackupHeader.from_json(self._parse(first))
        except ValueError as exc:
            raise BackupInvalid(self.path, str(exc)) from None
        self._hash.update(first)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._file is not None:
            self._file.close()

    def _next_line(self) -> bytes | None:
        assert self._file is not None
        try:
            line = self._file.readline()
        except (OSError, EOFError, zlib.error) as exc:
            reason = "it is truncated" if isinstance(exc, EOFError) else "it is corrupted"
            raise BackupInvalid(self.path, f"{reason} (the compressed data is damaged)") from None
        if not line:
            return None
        if not line.endswith(b"\n"):
            raise BackupInvalid(self.path, "it is truncated (its last line is cut)")
        return line

    def _parse(self, line: bytes) -> Any:
        try:
            return json.loads(line)
        except ValueError:
            raise BackupInvalid(self.path, "a line is not valid JSON") from None

    def rows(self) -> Iterator[tuple[TableInfo, tuple[Any, ...]]]:
        """Every row, decoded, with its table; then the trailer is checked."""
        tables = {t.name: i for i, t in enumerate(self.header.tables)}
        kinds = [[k for _, k in t.columns] for t in self.header.tables]
        counts = [0] * len(self.header.tables)
        current = 0
        total = 0
        while True:
            line = self._next_line()
            if line is None:
                raise BackupInvalid(self.path, "it is truncated (the trailer is missing)")
            doc = self._parse(line)
            if isinstance(doc, dict) and "end" in doc:
                self._check_trailer(doc, total, counts)
                if self._next_line() is not None:
                    raise BackupInvalid(self.path, "there is data after its trailer")
                return
            self._hash.update(line)
            index = tables.get(str(doc.get("t"))) if isinstance(doc, dict) else None
            if index is None or index < current or not isinstance(doc.get("v"), list):
                raise BackupInvalid(self.path, f"line {total + 2} is not a row the header lists")
            current = index
            table = self.header.tables[index]
            try:
                values = tuple(
                    decode_value(k, v) for k, v in zip(kinds[index], doc["v"], strict=True)
                )
            except (ValueError, TypeError, AttributeError):
                raise BackupInvalid(
                    self.path, f"line {total + 2} (table {table.name}) holds a malformed value"
                ) from None
            counts[index] += 1
            total += 1
            yield table, values

    def _check_trailer(self, doc: dict[str, Any], total: int, counts: list[int]) -> None:
        digest = self._hash.hexdigest()
        if doc.get("end") != FORMAT or doc.get("sha256") != digest:
            raise BackupInvalid(self.path, "its checksum does not match its content (altered)")
        if doc.get("rows") != total:
            raise BackupInvalid(self.path, "its row count does not match its trailer")
        for table, count in zip(self.header.tables, counts, strict=True):
            if count != table.rows:
                raise BackupInvalid(
                    self.path,
                    f"table {table.name} holds {count} rows, its header says {table.rows}",
                )
        self.sha256 = digest
