"""Webhook subscriptions and the transactional outbox.

:func:`enqueue` writes one outbox row per interested subscription in the caller's transaction:
the event exists if and only if the change it reports commits, and the worker
(:mod:`confiance.webhooks.worker`) delivers it afterwards. It runs on every consent write, so it
is one prebuilt ``INSERT ... SELECT`` straight to the driver, which reads the active
subscriptions inside the caller's transaction: no process ever acts on a stale list (a
process-wide cache could not promise that with several workers on PostgreSQL), and it costs a
single round trip (about 0.1 ms on SQLite and 0.25 ms on PostgreSQL with four subscriptions).

Subscription changes go through audited verbs. A subscription's signing secret (``whsec_``
and the base64 of 32 random bytes, as the Standard Webhooks specification has it) is shown once
and stored sealed under a key derived from the key ring, bound to the subscription's id.
"""

from __future__ import annotations

import base64
import json
import os
import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final, cast
from urllib.parse import urlsplit

from sqlalchemy import Table, delete, func, select, update
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session

from confiance import clock
from confiance.actors import Actor
from confiance.audit.service import AuditEvent, AuditLog
from confiance.crypto import Keyring, KeyringSource, SymmetricKey, context
from confiance.crypto.derived import derived_key
from confiance.db.bulk import BulkInsert
from confiance.errors import ValidationFailed
from confiance.webhooks.errors import (
    InvalidWebhookUrl,
    NoEventType,
    PayloadRejected,
    SubscriptionNotFound,
    UnknownEventType,
)
from confiance.webhooks.models import DeliveryAttempt, OutboxMessage, WebhookSubscription

__all__ = [
    "ALL_EVENTS",
    "EVENT_TYPES",
    "MAX_PAYLOAD_BYTES",
    "DeliveryRecord",
    "SubscriptionInfo",
    "create_subscription",
    "delivery_log",
    "disable_subscription",
    "enqueue",
    "enqueue_many",
    "get_subscription",
    "list_subscriptions",
    "new_event_id",
    "open_secret",
    "pending_count",
    "prune",
    "rotate_secret",
]

#: Event types a subscription may ask for. ``*`` subscribes to all, present and future.
EVENT_TYPES: Final = frozenset({"consent.changed", "customer.erased"})
ALL_EVENTS: Final = "*"
#: A payload names ids and purpose keys: a few hundred bytes. Anything near this is a mistake.
MAX_PAYLOAD_BYTES: Final = 16_384
SECRET_PREFIX: Final = "whsec_"  # noqa: S105 (the format's prefix, not a secret)
#: How long the previous secret keeps signing after a rotation, by default.
DEFAULT_ROTATION_OVERLAP: Final = timedelta(hours=24)

_subs = cast(Table, WebhookSubscription.__table__)
_outbox = cast(Table, OutboxMessage.__table__)
_attempts = cast(Table, DeliveryAttempt.__table__)


@dataclass(frozen=True)
class SubscriptionInfo:
    id: str
    name: str
    url: str
    event_types: list[str]
    active: bool
    created_at: datetime
    created_by: str
    disabled_at: datetime | None
    previous_secret_until: datetime | None


@dataclass(frozen=True)
class DeliveryRecord:
    """One line of the delivery log: an attempt, never its body."""

    message_id: str
    subscription_id: str
    event_type: str
    attempt: int
    at: datetime
    outcome: str
    status_code: int | None
    error: str | None
    duration_ms: int | None


def _info(row: WebhookSubscription) -> SubscriptionInfo:
    return SubscriptionInfo(
        id=row.id,
        name=row.name,
        url=row.url,
        event_types=list(row.event_types),
        active=row.active,
        created_at=row.created_at,
        created_by=row.created_by,
        disabled_at=row.disabled_at,
        previous_secret_until=row.previous_secret_until,
    )


# -- secrets ------------------------------------------------------------------------------------
_SEALING_PURPOSE = "webhook-secret"


def _sealing_key(ring: Keyring) -> SymmetricKey:
    return derived_key(ring, _SEALING_PURPOSE)


def _seal_secret(keys: KeyringSource, subscription_id: str, raw: bytes) -> bytes:
    key = _sealing_key(keys.get())
    return key.seal(raw, ctx=context(_SEALING_PURPOSE, subscription_id))


def open_secret(keys: KeyringSource, subscription_id: str, sealed: bytes) -> bytes:
    """The raw signing secret of a subscription (raises the opaque ``DecryptionFailed``)."""
    key = _sealing_key(keys.get())
    return key.open(sealed, ctx=context(_SEALING_PURPOSE, subscription_id))


def _new_secret() -> tuple[bytes, str]:
    raw = secrets.token_bytes(32)
    return raw, SECRET_PREFIX + base64.b64encode(raw).decode()


# -- subscriptions ------------------------------------------------------------------------------
_CONTROL = re.compile(r"[\x00-\x20\x7f]")


def _check_url(url: str) -> str:
    if len(url) > 2048:
        raise InvalidWebhookUrl("longer than 2048 characters")
    if _CONTROL.search(url):
        raise InvalidWebhookUrl("it contains spaces or control characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise InvalidWebhookUrl("it cannot be parsed") from None
    if parts.scheme not in ("http", "https"):
        raise InvalidWebhookUrl("only http and https URLs are delivered to")
    if not parts.hostname:
        raise InvalidWebhookUrl("it names no host")
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise InvalidWebhookUrl(
            "credentials in the URL are refused; receivers authenticate the signature instead"
        )
    if parts.fragment:
        raise InvalidWebhookUrl("a fragment is never sent; remove it")
    if port == 0:
        raise InvalidWebhookUrl("port 0 is not a port")
    return url


def _check_event_types(event_types: Sequence[str]) -> list[str]:
    wanted = sorted(set(event_types))
    if not wanted:
        raise NoEventType()
    for event_type in wanted:
        if event_type != ALL_EVENTS and event_type not in EVENT_TYPES:
            raise UnknownEventType(event_type, sorted(EVENT_TYPES))
    return [ALL_EVENTS] if ALL_EVENTS in wanted else wanted


def _host(url: str) -> str:
    return urlsplit(url).hostname or "?"


def create_subscription(
    session: Session,
    *,
    name: str,
    url: str,
    event_types: Sequence[str],
    actor: Actor,
    audit: AuditLog,
    keys: KeyringSource,
) -> tuple[SubscriptionInfo, str]:
    """Subscribe ``url`` to ``event_types``; the signing secret is returned once."""
    name = name.strip()
    if not name or len(name) > 128:
        raise ValidationFailed("A webhook subscription needs a name of 1 to 128 characters.")
    url = _check_url(url)
    wanted = _check_event_types(event_types)
    subscription_id = secrets.token_hex(8)
    raw, secret = _new_secret()
    row = WebhookSubscription(
        id=subscription_id,
        name=name,
        url=url,
        event_types=wanted,
        secret_sealed=_seal_secret(keys, subscription_id, raw),
        previous_secret_sealed=None,
        previous_secret_until=None,
        active=True,
        created_at=clock.now(),
        created_by=actor.label,
        disabled_at=None,
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        AuditEvent(
            action="webhook.subscription.create",
            actor=actor.label,
            # The host, not the URL: a path or query may carry the receiver's own token.
            detail=f"subscription {subscription_id} to {_host(url)} for {','.join(wanted)}",
        ),
    )
    return _info(row), secret


def _get(session: Session, subscription_id: str, *, lock: bool = False) -> WebhookSubscription:
    statement = select(WebhookSubscription).where(WebhookSubscription.id == subscription_id)
    if lock:
        statement = statement.with_for_update()
    row = session.execute(statement).scalar_one_or_none()
    if row is None:
        raise SubscriptionNotFound(subscription_id)
    return row


def get_subscription(session: Session, *, subscription_id: str) -> SubscriptionInfo:
    return _info(_get(session, subscription_id))


def list_subscriptions(
    session: Session, *, include_disabled: bool = True
) -> list[SubscriptionInfo]:
    statement = select(WebhookSubscription).order_by(
        WebhookSubscription.created_at, WebhookSubscription.id
    )
    if not include_disabled:
        statement = statement.where(WebhookSubscription.active.is_(True))
    return [_info(r) for r in session.execute(statement).scalars()]


def disable_subscription(
    session: Session, *, subscription_id: str, actor: Actor, audit: AuditLog
) -> SubscriptionInfo:
    """Stop deliveries: no new event is queued, and pending ones are marked failed."""
    row = _get(session, subscription_id, lock=True)
    if row.active:
        now = clock.now()
        row.active = False
        row.disabled_at = now
        session.flush()
        dropped = (
            session.connection()
            .execute(
                update(_outbox)
                .where(_outbox.c.subscription_id == subscription_id, _outbox.c.state == "pending")
                .values(
                    state="failed",
                    last_error="subscription disabled",
                    claimed_until=None,
                    claim_token=None,
                )
            )
            .rowcount
        )
        audit.record(
            session,
            AuditEvent(
                action="webhook.subscription.disable",
                actor=actor.label,
                detail=f"subscription {subscription_id}; {dropped} pending messages dropped",
            ),
        )
    return _info(row)


def rotate_secret(
    session: Session,
    *,
    subscription_id: str,
    actor: Actor,
    audit: AuditLog,
    keys: KeyringSource,
    overlap: timedelta = DEFAULT_ROTATION_OVERLAP,
) -> tuple[SubscriptionInfo, str]:
    """A new signing secret, returned once. For ``overlap`` the old one signs too: every
    message carries both signatures (``v1,<new> v1,<old>``), so a receiver verifies with
    either until it has switched."""
    row = _get(session, subscription_id, lock=True)
    raw, secret = _new_secret()
    if overlap > timedelta(0):
        row.previous_secret_sealed = row.secret_sealed
        row.previous_secret_until = clock.now() + overlap
    else:
        row.previous_secret_sealed = None
        row.previous_secret_until = None
    row.secret_sealed = _seal_secret(keys, subscription_id, raw)
    session.flush()
    audit.record(
        session,
        AuditEvent(
            action="webhook.subscription.rotate-secret",
            actor=actor.label,
            detail=f"subscription {subscription_id}; previous secret signs for "
            f"{int(overlap.total_seconds())} s",
        ),
    )
    return _info(row), secret


# -- the outbox ---------------------------------------------------------------------------------
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_event_id(moment: datetime | None = None) -> str:
    """``msg_``, a ULID and ``_``: 48 bits of milliseconds and 80 random bits in Crockford
    base32. Each subscription's message appends its subscription id, so the message id (the
    ``webhook-id`` receivers deduplicate on) is unique without coordination and sorts by
    creation time to the millisecond.
    """
    return new_event_ids(1, moment)[0]


def new_event_ids(count: int, moment: datetime | None = None) -> list[str]:
    """``count`` ids of :func:`new_event_id`'s form that sort in the order given (the random
    part of the first, then one more for each), for events queued together."""
    millis = clock.to_micros(moment or clock.now()) // 1000
    # 79 random bits, so that adding the count never carries into the milliseconds.
    start = (millis << 80) | int.from_bytes(os.urandom(10), "big") >> 1
    ids = []
    for offset in range(count):
        value = start + offset
        chars = []
        for _ in range(26):
            chars.append(_CROCKFORD[value & 31])
            value >>= 5
        ids.append("msg_" + "".join(reversed(chars)) + "_")
    return ids


# One statement, one round trip: the subscriptions are read inside the insert, in the caller's
# transaction, so the list is never stale whichever process enqueues. (Read first and insert
# after, it cost two round trips, about 0.5 ms on PostgreSQL.) The event filter reads the JSON
# list with each database's own JSON operators. Names are fixed, so the text is safe.
_ENQUEUE_SQL = {
    "sqlite": """
        INSERT INTO webhook_outbox
            (id, subscription_id, event_type, payload, created_at, state, attempts,
             next_attempt_at)
        SELECT ? || s.id, s.id, ?, ?, ?, 'pending', 0, ?
        FROM webhook_subscriptions AS s
        WHERE s.active AND EXISTS (
            SELECT 1 FROM json_each(s.event_types) AS e WHERE e.value IN (?, '*'))
        RETURNING id""",
    "postgresql": """
        INSERT INTO webhook_outbox
            (id, subscription_id, event_type, payload, created_at, state, attempts,
             next_attempt_at)
        SELECT %s || s.id, s.id, %s, %s, %s, 'pending', 0, %s
        FROM webhook_subscriptions AS s
        WHERE s.active AND (s.event_types::jsonb ? %s OR s.event_types::jsonb ? '*')
        RETURNING id""",
}
_BIND = BulkInsert(_outbox, ("payload", "created_at"))


def _check_payload(event_type: str, payload: Mapping[str, Any]) -> None:
    if not isinstance(payload, Mapping):
        raise PayloadRejected("it is not a JSON object", event_type=event_type)
    try:
        encoded = json.dumps(payload, allow_nan=False, separators=(",", ":"))
    except (TypeError, ValueError):
        # The exception text could quote a value; only its kind is reported.
        raise PayloadRejected("it is not plain JSON", event_type=event_type) from None
    if len(encoded) > MAX_PAYLOAD_BYTES:
        raise PayloadRejected(f"it is larger than {MAX_PAYLOAD_BYTES} bytes", event_type=event_type)


def enqueue(session: Session, *, event_type: str, payload: Mapping[str, Any]) -> list[str]:
    """Queue ``event_type`` for every active subscription that wants it, in the caller's
    transaction; return the message ids (empty if nobody subscribes).

    ``payload`` names pseudonymous ids and purpose keys, never a personal value: it leaves
    Confiance for systems the vault does not control.
    """
    connection = session.connection()
    (params,) = _enqueue_params(connection.dialect, event_type, [payload])
    rows = connection.exec_driver_sql(_ENQUEUE_SQL[connection.dialect.name], params).all()
    return sorted(row[0] for row in rows)


def enqueue_many(
    session: Session, *, event_type: str, payloads: Sequence[Mapping[str, Any]]
) -> None:
    """:func:`enqueue` for several events at once, in one statement; their message ids sort
    in the order given (delivery itself is not ordered: see ``docs/webhooks.md``)."""
    if not payloads:
        return
    connection = session.connection()
    params = _enqueue_params(connection.dialect, event_type, payloads)
    sql = _ENQUEUE_SQL[connection.dialect.name].rsplit("RETURNING", 1)[0]
    connection.exec_driver_sql(sql, params)


def _enqueue_params(
    dialect: Dialect, event_type: str, payloads: Sequence[Mapping[str, Any]]
) -> list[tuple[Any, ...]]:
    if event_type not in EVENT_TYPES:
        raise UnknownEventType(event_type, sorted(EVENT_TYPES))
    for payload in payloads:
        _check_payload(event_type, payload)
    now = clock.now()
    at = _BIND.convert(dialect, "created_at", now)
    ids = new_event_ids(len(payloads), now)
    return [
        (message_id, event_type, _BIND.convert(dialect, "payload", dict(p)), at, at, event_type)
        for message_id, p in zip(ids, payloads, strict=True)
    ]


def delivery_log(
    session: Session, *, subscription_id: str | None = None, limit: int = 100
) -> list[DeliveryRecord]:
    """The latest attempts, newest first (of one subscription, or of all)."""
    if subscription_id is not None:
        _get(session, subscription_id)
    statement = (
        select(
            _attempts.c.message_id,
            _outbox.c.subscription_id,
            _outbox.c.event_type,
            _attempts.c.attempt,
            _attempts.c.at,
            _attempts.c.outcome,
            _attempts.c.status_code,
            _attempts.c.error,
            _attempts.c.duration_ms,
        )
        .join(_outbox, _outbox.c.id == _attempts.c.message_id)
        .order_by(_attempts.c.id.desc())
        .limit(max(1, min(limit, 1000)))
    )
    if subscription_id is not None:
        statement = statement.where(_outbox.c.subscription_id == subscription_id)
    return [DeliveryRecord(**row._mapping) for row in session.execute(statement)]


def pending_count(session: Session) -> int:
    """Messages still to deliver (an index range count: cheap enough for a status line)."""
    return int(
        session.execute(
            select(func.count()).select_from(_outbox).where(_outbox.c.state == "pending")
        ).scalar_one()
    )


def prune(session: Session, *, before: datetime) -> int:
    """Delete delivered and failed messages created before ``before``, with their attempts.

    Payloads hold pseudonymous customer ids, which are still personal data: the outbox keeps
    them only as long as the delivery log is useful (the worker prunes after 30 days).
    """
    finished = select(_outbox.c.id).where(
        _outbox.c.state.in_(("delivered", "failed")), _outbox.c.created_at < before
    )
    connection = session.connection()
    connection.execute(delete(_attempts).where(_attempts.c.message_id.in_(finished)))
    deleted: int = connection.execute(
        delete(_outbox).where(
            _outbox.c.state.in_(("delivered", "failed")), _outbox.c.created_at < before
        )
    ).rowcount
    return deleted
