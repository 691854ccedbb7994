"""A lean path for the hottest route: ``GET /v1/customers/{id}/decisions/{purpose}``.

Integrations ask it on every page view. When the caller's API key was authenticated moments
ago (the :class:`~confiance.apikeys.service.AuthCache`) and the decision for this customer's
current consent version is in the ledger's cache, the answer needs one indexed read (the
customer's consent version and the manifest in force, so that it is never stale, whichever
worker recorded the last change) and no framework machinery: this ASGI layer answers it
directly. Anything else (an unknown key, a cache miss, a ``Sec-GPC`` header to record, a
malformed id, a missing scope) goes on to the regular route, which also fills the caches.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from confiance.consent.service import _VERSION_AND_MANIFEST
from confiance.runtime import Runtime
from confiance.vault.models import Customer

__all__ = ["DecisionFastLane"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_PATH = re.compile(r"/v1/customers/([0-9a-fA-F-]{32,36})/decisions/([a-z][a-z0-9_]{0,63})")
_JSON = [(b"content-type", b"application/json")]


class DecisionFastLane:
    def __init__(self, app: ASGIApp, runtime: Runtime) -> None:
        self.app = app
        self.runtime = runtime
        dialect = runtime.db.engine.dialect
        compiled = _VERSION_AND_MANIFEST.compile(dialect=dialect)
        self._sql = str(compiled)
        self._positional = bool(compiled.positiontup)
        self._bind = Customer.__table__.c.id.type.bind_processor(dialect)
        # On PostgreSQL a connection of its own, in autocommit: one round trip per answer
        # instead of a pool check-out with its ping and the rollback on return. It is only
        # used from the event loop's thread.
        self._dedicated = runtime.db.is_postgresql
        self._conn: Any = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET":
            body = self._answer(scope)
            if body is not None:
                await send(
                    {
                        "type": "http.response.start",
                        "status": 200,
                        "headers": [*_JSON, (b"content-length", str(len(body)).encode())],
                    }
                )
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)

    def _answer(self, scope: Scope) -> bytes | None:
        match = _PATH.fullmatch(scope["path"])
        if match is None:
            return None
        token = None
        for name, value in scope["headers"]:
            if name == b"sec-gpc":
                return None  # a signal to record: the regular route does it
            if name == b"authorization":
                scheme, _, credentials = value.decode("latin-1").partition(" ")
                if scheme.lower() == "bearer":
                    token = credentials.strip()
        if not token:
            return None
        actor = self.runtime.auth_cache.get(token)
        if actor is None or not actor.may("consent.read"):
            return None
        try:
            customer_id = uuid.UUID(match.group(1))
        except ValueError:
            return None
        purpose = match.group(2)
        row = self._versions(customer_id)
        if row is None:
            return None
        verdict = self.runtime.consent.cached_verdict(customer_id, purpose, row[0], row[1])
        if verdict is None:
            return None
        return json.dumps(
            {"purpose": purpose, "allowed": verdict.allowed, "reason": verdict.reason},
            separators=(",", ":"),
        ).encode()

    def _versions(self, customer_id: uuid.UUID) -> tuple[int, int] | None:
        value = self._bind(customer_id) if self._bind is not None else customer_id
        params = (value,) if self._positional else {"customer_id": value}
        if self._dedicated:
            return self._on_dedicated(params)
        raw = self.runtime.db.engine.raw_connection()
        try:
            cursor = raw.cursor()
            cursor.execute(self._sql, params)
            row = cursor.fetchone()
            cursor.close()
        finally:
            raw.close()
        return None if row is None else (int(row[0]), int(row[1]))

    def _on_dedicated(self, params: Any) -> tuple[int, int] | None:
        try:
            if self._conn is None:
                self._conn = self.runtime.db.engine.raw_connection()
                self._conn.driver_connection.autocommit = True
            cursor = self._conn.cursor()
            cursor.execute(self._sql, params)
            row = cursor.fetchone()
            cursor.close()
        except Exception:
            # A lost connection: drop it and let the regular route answer this one.
            self.close()
            return None
        return None if row is None else (int(row[0]), int(row[1]))

    def close(self) -> None:
        if self._conn is not None:
            try:
                self._conn.invalidate()
            finally:
                self._conn = None
