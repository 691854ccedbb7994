"""The erasure log: who was erased, by pseudonymous id only, in the database and in a file
outside it.

The file is what a restore trusts: a backup of the database taken before an erasure does not
list that erasure, but the file kept beside the installation does. Each line is one JSON
object ``{"customer_pid", "erased_at", "held_fields", "request_id"}``; lines are appended and
flushed to disk before the erasure's transaction is reported done. A line that cannot be parsed
(a torn last write) is reported, never skipped silently.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from confiance.erasure.models import ErasureRecord
from confiance.errors import ConfigurationError

__all__ = ["ErasureEntry", "ErasureLogFile", "entries_in_database"]


@dataclass(frozen=True, slots=True)
class ErasureEntry:
    customer_pid: str
    erased_at: datetime
    held_fields: tuple[str, ...] = ()
    request_id: str | None = None

    def to_json(self) -> str:
        return json.dumps(
            {
                "customer_pid": self.customer_pid,
                "erased_at": self.erased_at.isoformat(),
                "held_fields": list(self.held_fields),
                "request_id": self.request_id,
            },
            separators=(",", ":"),
            sort_keys=True,
        )

    @classmethod
    def from_json(cls, line: str) -> ErasureEntry:
        raw = json.loads(line)
        return cls(
            customer_pid=str(raw["customer_pid"]),
            erased_at=datetime.fromisoformat(raw["erased_at"]),
            held_fields=tuple(str(f) for f in raw.get("held_fields") or ()),
            request_id=raw.get("request_id"),
        )


class ErasureLogFile:
    """The append-only erasure log file (mode 0600)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def append(self, entries: Iterable[ErasureEntry]) -> None:
        lines = "".join(entry.to_json() + "\n" for entry in entries)
        if not lines:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, lines.encode())
            os.fsync(fd)
        finally:
            os.close(fd)

    def read(self) -> list[ErasureEntry]:
        """Every entry, oldest first; an empty list when the file does not exist yet."""
        try:
            text = self.path.read_text()
        except FileNotFoundError:
            return []
        entries = []
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                entries.append(ErasureEntry.from_json(line))
            except (ValueError, KeyError, TypeError):
                raise ConfigurationError(
                    f"Line {number} of the erasure log {self.path} cannot be read; restore it "
                    "from its own backup before restoring the database.",
                ) from None
        return entries


def entries_in_database(session: Session) -> list[ErasureEntry]:
    rows = session.execute(select(ErasureRecord).order_by(ErasureRecord.seq)).scalars()
    return [
        ErasureEntry(
            customer_pid=row.customer_pid,
            erased_at=row.erased_at,
            held_fields=tuple(f for f in row.held_fields.split(",") if f),
            request_id=row.request_id,
        )
        for row in rows
    ]
