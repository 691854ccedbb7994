"""Service API keys: each limited to some purposes, stored as a digest.

A key reads ``cfk_<id>_<secret>``. The secret has 256 bits of entropy, so a plain SHA-256
digest is enough at rest (a slow password hash protects low-entropy secrets, not these), and
it keeps authentication cheap on every request.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from confiance import clock
from confiance.actors import SCOPES, Actor
from confiance.apikeys.errors import ApiKeyNotFound, InvalidApiKey, NoPurposeGiven, UnknownScope
from confiance.apikeys.models import ApiKey
from confiance.audit.service import AuditEvent, AuditLog
from confiance.crypto.derived import same_digest, token_digest
from confiance.manifest import service as manifest_service
from confiance.manifest.errors import UnknownPurpose

__all__ = ["ApiKeyInfo", "AuthCache", "authenticate", "create", "list_keys", "revoke"]

PREFIX = "cfk"


@dataclass(frozen=True)
class ApiKeyInfo:
    id: str
    name: str
    purposes: list[str]
    scopes: list[str]
    created_at: datetime
    created_by: str
    revoked_at: datetime | None


def _info(row: ApiKey) -> ApiKeyInfo:
    return ApiKeyInfo(
        id=row.id,
        name=row.name,
        purposes=list(row.purposes),
        scopes=list(row.scopes or []),
        created_at=row.created_at,
        created_by=row.created_by,
        revoked_at=row.revoked_at,
    )


def create(
    session: Session,
    *,
    name: str,
    purposes: Sequence[str],
    actor: Actor,
    audit: AuditLog,
    scopes: Sequence[str] = (),
) -> tuple[ApiKeyInfo, str]:
    """Create a key; the token is returned once and never stored."""
    wanted = sorted(set(purposes))
    granted = sorted(set(scopes))
    if not wanted:
        raise NoPurposeGiven()
    for scope in granted:
        if scope not in SCOPES:
            raise UnknownScope(scope)
    manifest = manifest_service.current(session).manifest
    for purpose in wanted:
        if purpose not in manifest.purposes_by_key:
            raise UnknownPurpose(purpose)
    key_id = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    row = ApiKey(
        id=key_id,
        name=name,
        secret_hash=token_digest(secret),
        purposes=wanted,
        scopes=granted,
        created_at=clock.now(),
        created_by=actor.label,
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        AuditEvent(
            action="apikey.create",
            actor=actor.label,
            detail=f"key {key_id} for purposes {','.join(wanted)}; scopes {','.join(granted)}",
        ),
    )
    return _info(row), f"{PREFIX}_{key_id}_{secret}"


def authenticate(session: Session, *, token: str) -> Actor:
    """The actor behind a token, or :class:`InvalidApiKey` (always the same error)."""
    parts = token.split("_", 2)
    if len(parts) != 3 or parts[0] != PREFIX:
        raise InvalidApiKey()
    row = session.get(ApiKey, parts[1])
    if row is None or row.revoked_at is not None:
        raise InvalidApiKey()
    if not same_digest(row.secret_hash, token_digest(parts[2])):
        raise InvalidApiKey()
    return Actor("apikey", row.id, frozenset(row.purposes), frozenset(row.scopes or []))


def revoke(session: Session, *, key_id: str, actor: Actor, audit: AuditLog) -> ApiKeyInfo:
    row = session.get(ApiKey, key_id)
    if row is None:
        raise ApiKeyNotFound(key_id)
    if row.revoked_at is None:
        row.revoked_at = clock.now()
        session.flush()
        audit.record(
            session,
            AuditEvent(action="apikey.revoke", actor=actor.label, detail=f"key {key_id}"),
        )
    return _info(row)


def list_keys(session: Session) -> list[ApiKeyInfo]:
    return [_info(r) for r in session.execute(select(ApiKey).order_by(ApiKey.created_at)).scalars()]


class AuthCache:
    """Recently authenticated tokens, per process, for ``ttl`` seconds.

    Authentication is one indexed read, but it runs on every request; caching it briefly lets
    a decision endpoint answer without it. The price is that revoking a key takes effect in
    other processes up to ``ttl`` seconds later (at once in the process that revoked it).
    Failed attempts are never cached. ``ttl`` 0 disables the cache.
    """

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self._entries: dict[bytes, tuple[Actor, float]] = {}

    def get(self, token: str) -> Actor | None:
        if self.ttl <= 0:
            return None
        hit = self._entries.get(token_digest(token))
        if hit is None or hit[1] < time.monotonic():
            return None
        return hit[0]

    def put(self, token: str, actor: Actor) -> None:
        if self.ttl <= 0:
            return
        if len(self._entries) > 10_000:
            self._entries.clear()
        self._entries[token_digest(token)] = (actor, time.monotonic() + self.ttl)

    def clear(self) -> None:
        self._entries.clear()
