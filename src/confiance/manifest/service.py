"""Loading manifest versions and reading the one in force.

Every distinct manifest gets a sequence number and is kept forever: consent is given to the
notice a customer saw, so the manifest behind that notice must stay readable.

*Distinct* means different in meaning, not in bytes. The hash is taken over a canonical form
(the validated model dumped to JSON with sorted keys), so reformatting the file, reordering
keys, editing comments or spelling out a default value does not create a new version; changing
a value or the order of a list does. The stored content is the text of the first load of that
meaning, comments included. One consequence: a Confiance upgrade that adds a key with a default
changes the canonical form, so the next load of an unchanged file creates a new version.

The caller owns the transaction: these functions flush and never commit.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from confiance import clock
from confiance.errors import Conflict, ValidationFailed
from confiance.manifest import checks, loader
from confiance.manifest.errors import (
    ManifestInvalid,
    ManifestVersionNotFound,
    NoManifestLoaded,
)
from confiance.manifest.models import ManifestVersion
from confiance.manifest.schemas import Manifest

__all__ = [
    "CACHE_SIZE",
    "LoadedManifest",
    "ManifestVersionInfo",
    "canonical_sha256",
    "clear_cache",
    "current",
    "get",
    "history",
    "load",
    "source_text",
]

# Parsed manifests kept in memory, by hash. A handful covers the current version plus the
# older ones still being read (consent receipts, notices shown before an update).
CACHE_SIZE = 16

_SOURCE_NAME_MAX = 255
_ACTOR_MAX = 128
# Two transactions loading at the same moment both pick the same next number; the loser
# retries with a fresh look at the table.
_INSERT_ATTEMPTS = 3


@dataclass(frozen=True)
class LoadedManifest:
    seq: int
    sha256: str
    manifest: Manifest
    loaded_at: datetime
    loaded_by: str
    source_name: str
    created: bool


@dataclass(frozen=True)
class ManifestVersionInfo:
    seq: int
    sha256: str
    loaded_at: datetime
    loaded_by: str
    source_name: str


def canonical_sha256(manifest: Manifest) -> str:
    """The hash of a manifest's meaning; see the module docstring for what it ignores."""
    canonical = json.dumps(
        manifest.model_dump(mode="json"),
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def load(
    session: Session,
    *,
    text: str,
    source_name: str,
    actor: str,
    on_loaded: Callable[[Session, LoadedManifest], None] | None = None,
) -> LoadedManifest:
    """Check a manifest and store it as the new version, unless its meaning is already stored.

    ``on_loaded`` runs in the same transaction, only when a version is created: it is where the
    caller writes the audit entry, so that a version never exists without one.

    Loading the meaning of the version in force returns it unchanged (``created=False``).
    Loading the meaning of an older version creates a new version with the same hash: going
    back is a change of rules like any other, with its own number, time and audit entry.

    Raises :class:`ManifestInvalid` with every problem when the manifest has errors.
    """
    if not actor or len(actor) > _ACTOR_MAX:
        raise ValidationFailed(
            f"the actor must be between 1 and {_ACTOR_MAX} characters", field="actor"
        )
    # A long path keeps its end, the part that names the file.
    source_name = source_name[-_SOURCE_NAME_MAX:] or "<unnamed>"
    result = checks.check_text(text, source=source_name)
    if not result.ok or result.manifest is None:
        raise ManifestInvalid(problems=result.problems)
    manifest = result.manifest
    digest = canonical_sha256(manifest)

    for _attempt in range(_INSERT_ATTEMPTS):
        latest = session.scalars(
            select(ManifestVersion).order_by(ManifestVersion.seq.desc()).limit(1)
        ).one_or_none()
        if latest is not None and latest.sha256 == digest:
            _remember(digest, manifest)
            return _loaded(latest, manifest, created=False)
        # A new meaning, or a return to an earlier one: either way a new version in force.
        row = ManifestVersion(
            seq=(latest.seq if latest is not None else 0) + 1,
            sha256=digest,
            content=text,
            source_name=source_name,
            loaded_at=clock.now(),
            loaded_by=actor,
        )
        try:
            with session.begin_nested():
                session.add(row)
        except IntegrityError:
            continue
        _remember(digest, manifest)
        loaded = _loaded(row, manifest, created=True)
        if on_loaded is not None:
            on_loaded(session, loaded)
        return loaded
    raise Conflict(
        "other manifest versions were being loaded at the same time; try again",
        field="manifest",
    )


# Built once: this runs on every request, and building a statement costs more than running it.
_CURRENT = (
    select(
        ManifestVersion.seq,
        ManifestVersion.sha256,
        ManifestVersion.loaded_at,
        ManifestVersion.loaded_by,
        ManifestVersion.source_name,
    )
    .order_by(ManifestVersion.seq.desc())
    .limit(1)
)


def current(session: Session) -> LoadedManifest:
    """The manifest in force: the latest version. Cheap when its parsed form is cached."""
    row = session.connection().execute(_CURRENT).one_or_none()
    if row is None:
        raise NoManifestLoaded()
    info = ManifestVersionInfo(*row)
    return _with_manifest(session, info)


def get(session: Session, *, seq: int) -> LoadedManifest:
    row = session.execute(
        select(
            ManifestVersion.seq,
            ManifestVersion.sha256,
            ManifestVersion.loaded_at,
            ManifestVersion.loaded_by,
            ManifestVersion.source_name,
        ).where(ManifestVersion.seq == seq)
    ).one_or_none()
    if row is None:
        raise ManifestVersionNotFound(seq=seq)
    return _with_manifest(session, ManifestVersionInfo(*row))


def history(session: Session) -> list[ManifestVersionInfo]:
    """Every version, newest first, without parsing any of them."""
    rows = session.execute(
        select(
            ManifestVersion.seq,
            ManifestVersion.sha256,
            ManifestVersion.loaded_at,
            ManifestVersion.loaded_by,
            ManifestVersion.source_name,
        ).order_by(ManifestVersion.seq.desc())
    ).all()
    return [ManifestVersionInfo(*row) for row in rows]


def source_text(session: Session, *, seq: int) -> str:
    """The text of a version as first loaded, comments included."""
    content = session.scalar(select(ManifestVersion.content).where(ManifestVersion.seq == seq))
    if content is None:
        raise ManifestVersionNotFound(seq=seq)
    return content


def _with_manifest(session: Session, info: ManifestVersionInfo) -> LoadedManifest:
    manifest = _recall(info.sha256)
    if manifest is None:
        manifest = _parse_stored(source_text(session, seq=info.seq))
        _remember(info.sha256, manifest)
    return LoadedManifest(
        seq=info.seq,
        sha256=info.sha256,
        manifest=manifest,
        loaded_at=info.loaded_at,
        loaded_by=info.loaded_by,
        source_name=info.source_name,
        created=False,
    )


def _parse_stored(text: str) -> Manifest:
    # Only the shape is checked again. A check added in a later release must not make a version
    # that customers consented under unreadable; it is reported when a new version is loaded.
    parsed = loader.parse(text)
    if parsed.manifest is None or any(p.is_error for p in parsed.problems):
        raise ManifestInvalid(
            "a stored manifest version can no longer be read by this release of Confiance",
            problems=parsed.problems,
        )
    return parsed.manifest


def _loaded(row: ManifestVersion, manifest: Manifest, *, created: bool) -> LoadedManifest:
    return LoadedManifest(
        seq=row.seq,
        sha256=row.sha256,
        manifest=manifest,
        loaded_at=row.loaded_at,
        loaded_by=row.loaded_by,
        source_name=row.source_name,
        created=created,
    )


_cache: OrderedDict[str, Manifest] = OrderedDict()
_cache_lock = threading.Lock()


def _recall(sha256: str) -> Manifest | None:
    with _cache_lock:
        manifest = _cache.get(sha256)
        if manifest is not None:
            _cache.move_to_end(sha256)
        return manifest


def _remember(sha256: str, manifest: Manifest) -> None:
    with _cache_lock:
        _cache[sha256] = manifest
        _cache.move_to_end(sha256)
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)


def clear_cache() -> None:
    """Forget parsed manifests (tests, or after restoring a database from a backup)."""
    with _cache_lock:
        _cache.clear()
