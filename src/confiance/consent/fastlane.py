"""A lean path for the two hottest consent routes.

``GET /v1/customers/{id}/decisions/{purpose}``: integrations ask it on every page view. When the
caller's API key was authenticated moments ago (the :class:`~confiance.apikeys.service.AuthCache`)
and the decision for this customer's current consent version is in the ledger's cache, the
answer needs one indexed read (the customer's consent version and the manifest in force, so
that it is never stale, whichever worker recorded the last change) and no framework machinery:
this ASGI layer answers it directly.

``POST /v1/customers/{id}/consents``: a well-formed change from a recently authenticated key
goes straight to the group-commit writer (:mod:`confiance.consent.writer`), built and answered
by the same functions as the regular route (:func:`~confiance.consent.routes.change_job`,
:func:`~confiance.consent.routes.change_result`); a refused change is answered with the same
RFC 9457 problem.

Anything else (an unknown key, a cache miss, a ``Sec-GPC`` header to record on a read, a
malformed id or body, a missing scope) goes on to the regular route, which also fills the
caches and explains what is wrong.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from pydantic import ValidationError

from confiance.actors import Actor
from confiance.consent.routes import change_job, change_result
from confiance.consent.schemas import ConsentChangeRequest
from confiance.consent.service import VERSION_AND_MANIFEST
from confiance.errors import ConfianceError
from confiance.runtime import Runtime
from confiance.vault.models import Customer
from confiance.web.problems import problem_response

__all__ = ["ConsentFastLane"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_PATH = re.compile(r"/v1/customers/([0-9a-fA-F-]{32,36})/decisions/([a-z][a-z0-9_]{0,63})")
_CHANGE_PATH = re.compile(r"/v1/customers/([0-9a-fA-F-]{32,36})/consents")
_JSON = [(b"content-type", b"application/json")]


class ConsentFastLane:
    def __init__(self, app: ASGIApp, runtime: Runtime) -> None:
        self.app = app
        self.runtime = runtime
        dialect = runtime.db.engine.dialect
        compiled = VERSION_AND_MANIFEST.compile(dialect=dialect)
        self._sql = str(compiled)
        self._positional = bool(compiled.positiontup)
        self._bind = Customer.__table__.c.id.type.bind_processor(dialect)
        # A connection of its own, each read its own transaction (autocommit): one round trip
        # per answer instead of a pool check-out with its ping and the rollback on return. On
        # SQLite, where Confiance drives transactions itself, a statement outside BEGIN is
        # already one. It is only used from the event loop's thread.
        self._autocommit = runtime.db.is_postgresql
        self._conn: Any = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET":
            body = self._answer(scope)
            if body is not None:
                await _send_json(send, 200, body)
                return
        elif scope["type"] == "http" and scope["method"] == "POST":
            match = _CHANGE_PATH.fullmatch(scope["path"])
            if match is not None:
                onward = await self._change(scope, receive, send, match.group(1))
                if onward is None:
                    return
                receive = onward
        await self.app(scope, receive, send)

    def _caller(self, scope: Scope, scope_name: str) -> Actor | None:
        """The recently authenticated caller, if it holds ``scope_name``."""
        token = None
        for name, value in scope["headers"]:
            if name == b"authorization":
                scheme, _, credentials = value.decode("latin-1").partition(" ")
                if scheme.lower() == "bearer":
                    token = credentials.strip()
        if not token:
            return None
        actor = self.runtime.auth_cache.get(token)
        if actor is None or not actor.may(scope_name):
            return None
        return actor

    async def _change(
        self, scope: Scope, receive: Receive, send: Send, customer: str
    ) -> Receive | None:
        """Record a change and answer it (``None``), or hand the request on: the ``receive``
        to call the regular route with (the body read here is replayed to it)."""
        caller = self._caller(scope, "consent.write")
        json_body = any(
            n == b"content-type" and v.split(b";")[0].strip() == b"application/json"
            for n, v in scope["headers"]
        )
        if caller is None or not json_body:
            return receive
        try:
            customer_id = uuid.UUID(customer)
        except ValueError:
            return receive
        raw, receive = await _read_body(receive)
        if raw is None:
            return receive
        try:
            body = ConsentChangeRequest.model_validate_json(raw)
        except ValidationError:
            return receive  # the regular route explains what is wrong
        gpc = [v.decode("latin-1") for n, v in scope["headers"] if n == b"sec-gpc"]
        job = change_job(customer_id, body, caller, gpc, scope["path"])
        try:
            record = await self.runtime.consent_writer.submit(job)
        except ConfianceError as exc:
            await problem_response(exc, instance=scope["path"])(scope, receive, send)
            return None
        assert record is not None  # a job with decisions always yields its record
        await _send_json(send, 200, change_result(record).model_dump_json().encode())
        return None

    def _answer(self, scope: Scope) -> bytes | None:
        match = _PATH.fullmatch(scope["path"])
        if match is None:
            return None
        if any(name == b"sec-gpc" for name, _ in scope["headers"]):
            return None  # a signal to record: the regular route does it
        actor = self._caller(scope, "consent.read")
        if actor is None:
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
        try:
            if self._conn is None:
                self._conn = self.runtime.db.engine.raw_connection()
                if self._autocommit:
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


async def _send_json(send: Send, status: int, body: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [*_JSON, (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def _read_body(receive: Receive) -> tuple[bytes | None, Receive]:
    """The whole request body, and a ``receive`` that replays it to whoever reads next
    (``None`` for the body when the client left before sending it all)."""
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return None, _replay([message], receive)
        chunks.append(message)
        if not message.get("more_body", False):
            break
    return b"".join(m.get("body", b"") for m in chunks), _replay(chunks, receive)


def _replay(messages: list[Message], receive: Receive) -> Receive:
    pending = list(messages)

    async def replayed() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replayed
