"""Delivering the outbox: claim, sign, POST, record.

Each round has three steps, and no transaction stays open while a receiver answers:

1. **Claim**, in one short transaction: up to ``batch`` due messages (``SELECT ... FOR UPDATE
   SKIP LOCKED`` on PostgreSQL, so concurrent workers take disjoint sets; on SQLite the
   ``BEGIN IMMEDIATE`` transaction serialises claims). Each gets a lease (``claimed_until``), a
   claim token and its attempt number.
2. **Send**: a POST with the Standard Webhooks headers ``webhook-id`` (the message id, the
   same on every attempt), ``webhook-timestamp`` and ``webhook-signature`` (``v1,`` and the
   base64 HMAC-SHA256 of ``id.timestamp.body``, made by the ``standardwebhooks`` package).
   Redirects are never followed; connecting may take 5 s and each later phase 10 s.
3. **Record**, in one short transaction per message: the attempt in the delivery log and the
   message's new state. A 2xx answer delivers; anything else is retried after a growing,
   jittered delay, and marked failed after ``max_attempts``.

Crash safety, delivery at least once:

- a worker killed before sending loses nothing: the lease runs out and the message is due again;
- a worker killed after sending but before recording sends the message again once the lease
  runs out, **with the same** ``webhook-id``: receivers deduplicate on it. The delivery log
  shows the interrupted attempt with the outcome ``unknown``;
- a worker slower than its lease may see another worker send the same message meanwhile (same
  id again). Its answer is still logged; a 2xx from either delivers the message, and only the
  lease holder reschedules a failure.
"""

from __future__ import annotations

import json
import logging
import math
import random
import secrets
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import httpx
from sqlalchemy import Table, insert, or_, select, update
from standardwebhooks import Webhook

from confiance import __version__, clock
from confiance.background import DaemonWorker, run_rounds
from confiance.crypto import DecryptionFailed, KeyringSource
from confiance.db import Database
from confiance.webhooks import service
from confiance.webhooks.models import DeliveryAttempt, OutboxMessage, WebhookSubscription

__all__ = [
    "DEFAULT_POLICY",
    "BackgroundWorker",
    "DeliveryPolicy",
    "deliver_due",
    "make_client",
    "run_worker",
]

log = logging.getLogger(__name__)

_outbox = cast(Table, OutboxMessage.__table__)
_subs = cast(Table, WebhookSubscription.__table__)
_attempts = cast(Table, DeliveryAttempt.__table__)

#: Bytes of a receiver's answer read (and discarded) so the connection can be reused.
_DRAIN_LIMIT = 65_536


@dataclass(frozen=True)
class DeliveryPolicy:
    """How hard and how long the worker tries.

    After the n-th failed attempt the next one waits ``retry_delays[n-1]`` seconds (the last
    delay repeats), times a random factor in ``[1 - jitter, 1 + jitter]`` so that receivers
    coming back up are not hit by every queued message at once. With the defaults a message is
    tried 12 times over about a day and a half before it is marked failed.
    """

    retry_delays: tuple[float, ...] = (5.0, 30.0, 120.0, 600.0, 3600.0, 10_800.0, 21_600.0)
    max_attempts: int = 12
    jitter: float = 0.2
    connect_timeout: float = 5.0
    timeout: float = 10.0
    concurrency: int = 4
    lease_margin: float = 30.0
    keep_for: timedelta = field(default=timedelta(days=30))

    def __post_init__(self) -> None:
        if not self.retry_delays or any(d < 0 for d in self.retry_delays):
            raise ValueError("retry_delays is a non-empty list of non-negative seconds")
        if self.max_attempts < 1 or self.concurrency < 1:
            raise ValueError("max_attempts and concurrency are at least 1")
        if not 0 <= self.jitter < 1:
            raise ValueError("jitter is a fraction in [0, 1)")

    def retry_delay(self, failures: int, rng: random.Random) -> timedelta:
        """The wait after ``failures`` failed attempts (``failures`` >= 1)."""
        base = self.retry_delays[min(max(failures, 1), len(self.retry_delays)) - 1]
        factor = rng.uniform(1 - self.jitter, 1 + self.jitter)
        return timedelta(seconds=base * factor)

    def lease(self, count: int) -> timedelta:
        """How long a claim of ``count`` messages lasts: long enough for every one of them to
        wait its turn and time out, so a live worker never loses its lease to a slow receiver."""
        rounds = math.ceil(count / self.concurrency)
        return timedelta(
            seconds=rounds * (self.connect_timeout + 2 * self.timeout) + self.lease_margin
        )


DEFAULT_POLICY = DeliveryPolicy()


def make_client(policy: DeliveryPolicy = DEFAULT_POLICY) -> httpx.Client:
    """An HTTP client with the policy's timeouts that never follows redirects."""
    return httpx.Client(
        timeout=httpx.Timeout(policy.timeout, connect=policy.connect_timeout),
        follow_redirects=False,
        headers={"user-agent": f"Confiance-Webhooks/{__version__}"},
    )


@dataclass(frozen=True)
class _Claimed:
    id: str
    subscription_id: str
    event_type: str
    payload: dict[str, Any]
    created_at: datetime
    attempt: int
    url: str
    secret_sealed: bytes
    previous_secret_sealed: bytes | None
    previous_secret_until: datetime | None


@dataclass(frozen=True)
class _Outcome:
    status_code: int | None
    error: str | None
    duration_ms: int | None

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300

    @property
    def summary(self) -> str:
        if self.status_code is not None:
            return f"HTTP {self.status_code}"
        return _ERROR_TEXT.get(self.error or "", "error")


_ERROR_TEXT = {
    "timeout": "the receiver did not answer in time",
    "connect": "the receiver could not be reached",
    "transport": "the connection failed mid-request",
    "secret": "the signing secret could not be opened",
    "lease-expired": "a worker stopped before recording the attempt",
}


def deliver_due(
    db: Database,
    *,
    keys: KeyringSource,
    client: httpx.Client,
    policy: DeliveryPolicy = DEFAULT_POLICY,
    now: datetime | None = None,
    batch: int = 50,
    rng: random.Random | None = None,
    on_outcome: Callable[[str], None] | None = None,
) -> int:
    """Claim up to ``batch`` due messages, try each once, record the results; return how many
    were tried (0: nothing was due).

    ``now`` fixes the time of the whole round (tests); by default each step reads the clock.
    ``on_outcome`` hears each recorded outcome (``delivered``, ``retry``, ``failed``,
    ``superseded``), from the delivering threads.
    """
    current: Callable[[], datetime] = clock.now if now is None else (lambda: now)
    chooser = rng or random.SystemRandom()
    claimed = _claim(db, at=current(), batch=batch, policy=policy)
    if not claimed:
        return 0
    token, items = claimed
    signers: dict[str, tuple[Webhook, ...] | None] = {}
    for item in items:
        if item.subscription_id not in signers:
            signers[item.subscription_id] = _signers(keys, item, current())

    def process(item: _Claimed) -> None:
        outcome = _send(client, item, signers[item.subscription_id], current(), policy)
        try:
            result = _record(
                db, item, outcome, token=token, at=current(), policy=policy, rng=chooser
            )
        except Exception as exc:
            # The lease runs out and the message is tried again: nothing is lost.
            log.warning("could not record a webhook attempt (%s)", type(exc).__name__)
            return
        if on_outcome is not None:
            on_outcome(result)

    if policy.concurrency == 1 or len(items) == 1:
        for item in items:
            process(item)
    else:
        with ThreadPoolExecutor(
            max_workers=min(policy.concurrency, len(items)), thread_name_prefix="webhook"
        ) as pool:
            list(pool.map(process, items))
    return len(items)


def _claim(
    db: Database, *, at: datetime, batch: int, policy: DeliveryPolicy
) -> tuple[str, list[_Claimed]] | None:
    token = secrets.token_hex(16)
    with db.transaction() as session:
        connection = session.connection()
        rows = connection.execute(
            select(
                _outbox.c.id,
                _outbox.c.subscription_id,
                _outbox.c.event_type,
                _outbox.c.payload,
                _outbox.c.created_at,
                _outbox.c.attempts,
                _outbox.c.claimed_until,
                _subs.c.url,
                _subs.c.active,
                _subs.c.secret_sealed,
                _subs.c.previous_secret_sealed,
                _subs.c.previous_secret_until,
            )
            .join(_subs, _subs.c.id == _outbox.c.subscription_id)
            .where(
                _outbox.c.state == "pending",
                _outbox.c.next_attempt_at <= at,
                or_(_outbox.c.claimed_until.is_(None), _outbox.c.claimed_until <= at),
            )
            .order_by(_outbox.c.next_attempt_at, _outbox.c.id)
            .limit(batch)
            .with_for_update(skip_locked=True, of=_outbox)
        ).all()
        if not rows:
            return None
        # A pending message of a disabled subscription (queued while it was being disabled).
        dropped = [r.id for r in rows if not r.active]
        if dropped:
            connection.execute(
                update(_outbox)
                .where(_outbox.c.id.in_(dropped))
                .values(state="failed", last_error="subscription disabled", claimed_until=None)
            )
        live = [r for r in rows if r.active]
        if not live:
            return None
        interrupted = [r for r in live if r.claimed_until is not None]
        if interrupted:
            connection.execute(
                insert(_attempts),
                [
                    {
                        "message_id": r.id,
                        "attempt": r.attempts,
                        "at": at,
                        "status_code": None,
                        "error": "lease-expired",
                        "duration_ms": None,
                        "outcome": "unknown",
                    }
                    for r in interrupted
                ],
            )
        connection.execute(
            update(_outbox)
            .where(_outbox.c.id.in_([r.id for r in live]))
            .values(
                attempts=_outbox.c.attempts + 1,
                claimed_until=at + policy.lease(len(live)),
                claim_token=token,
            )
        )
    return token, [
        _Claimed(
            id=r.id,
            subscription_id=r.subscription_id,
            event_type=r.event_type,
            payload=r.payload,
            created_at=r.created_at,
            attempt=r.attempts + 1,
            url=r.url,
            secret_sealed=r.secret_sealed,
            previous_secret_sealed=r.previous_secret_sealed,
            previous_secret_until=r.previous_secret_until,
        )
        for r in live
    ]


def _signers(keys: KeyringSource, item: _Claimed, at: datetime) -> tuple[Webhook, ...] | None:
    """The current secret, and the previous one while its overlap lasts."""
    sealed: list[bytes] = [item.secret_sealed]
    if (
        item.previous_secret_sealed is not None
        and item.previous_secret_until is not None
        and item.previous_secret_until > at
    ):
        sealed.append(item.previous_secret_sealed)
    try:
        return tuple(Webhook(service.open_secret(keys, item.subscription_id, s)) for s in sealed)
    except DecryptionFailed:
        log.error(
            "the signing secret of webhook subscription %s does not open", item.subscription_id
        )
        return None


def body_of(event_type: str, created_at: datetime, payload: dict[str, Any]) -> str:
    """The JSON body sent for a message: the same bytes on every attempt."""
    envelope = {
        "type": event_type,
        "timestamp": created_at.astimezone(UTC)
        .isoformat(timespec="milliseconds")
        .replace("+00:00", "Z"),
        "data": payload,
    }
    return json.dumps(envelope, separators=(",", ":"), sort_keys=True)


def _send(
    client: httpx.Client,
    item: _Claimed,
    signers: Sequence[Webhook] | None,
    at: datetime,
    policy: DeliveryPolicy,
) -> _Outcome:
    if not signers:
        return _Outcome(None, "secret", None)
    body = body_of(item.event_type, item.created_at, item.payload)
    seconds = int(at.timestamp())
    signed_at = datetime.fromtimestamp(seconds, UTC)
    headers = {
        "content-type": "application/json",
        "webhook-id": item.id,
        "webhook-timestamp": str(seconds),
        "webhook-signature": " ".join(
            s.sign(msg_id=item.id, timestamp=signed_at, data=body) for s in signers
        ),
    }
    started = time.perf_counter()
    status: int | None = None
    try:
        with client.stream(
            "POST",
            item.url,
            content=body.encode(),
            headers=headers,
            timeout=httpx.Timeout(policy.timeout, connect=policy.connect_timeout),
            follow_redirects=False,
        ) as response:
            status = response.status_code
            drained = 0
            for chunk in response.iter_raw():
                drained += len(chunk)
                if drained > _DRAIN_LIMIT:
                    break
    except (httpx.HTTPError, httpx.InvalidURL, httpx.StreamError, OSError) as exc:
        if status is not None:
            # The status line arrived; only reading the rest of the answer failed.
            return _Outcome(status, None, _elapsed_ms(started))
        return _Outcome(None, _error_kind(exc), _elapsed_ms(started))
    return _Outcome(status, None, _elapsed_ms(started))


def _error_kind(exc: Exception) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return "timeout"
    if isinstance(exc, httpx.ConnectError):
        return "connect"
    return "transport"


def _elapsed_ms(started: float) -> int:
    return round((time.perf_counter() - started) * 1000)


def _record(
    db: Database,
    item: _Claimed,
    outcome: _Outcome,
    *,
    token: str,
    at: datetime,
    policy: DeliveryPolicy,
    rng: random.Random,
) -> str:
    with db.transaction() as session:
        connection = session.connection()
        mine = _outbox.c.id == item.id
        pending = _outbox.c.state == "pending"
        if outcome.ok:
            result = "delivered"
            connection.execute(
                update(_outbox)
                .where(mine, pending)
                .values(
                    state="delivered",
                    delivered_at=at,
                    last_error=None,
                    claimed_until=None,
                    claim_token=None,
                )
            )
        else:
            final = item.attempt >= policy.max_attempts
            result = "failed" if final else "retry"
            values: dict[str, Any] = {
                "last_error": outcome.summary,
                "claimed_until": None,
                "claim_token": None,
            }
            if final:
                values["state"] = "failed"
            else:
                values["next_attempt_at"] = at + policy.retry_delay(item.attempt, rng)
            changed = connection.execute(
                update(_outbox).where(mine, pending, _outbox.c.claim_token == token).values(values)
            ).rowcount
            if not changed:
                # Another worker holds the message now (this one outlived its lease).
                result = "superseded"
        connection.execute(
            insert(_attempts).values(
                message_id=item.id,
                attempt=item.attempt,
                at=at,
                status_code=outcome.status_code,
                error=outcome.error,
                duration_ms=outcome.duration_ms,
                outcome=result,
            )
        )
    return result


def run_worker(
    db: Database,
    *,
    keys: KeyringSource,
    stop: threading.Event,
    client: httpx.Client | None = None,
    policy: DeliveryPolicy = DEFAULT_POLICY,
    poll_interval: float = 0.5,
    batch: int = 50,
    prune_every: float = 3600.0,
    on_outcome: Callable[[str], None] | None = None,
) -> None:
    """Deliver until ``stop`` is set: a round whenever messages are due, a pause of
    ``poll_interval`` when none are; every ``prune_every`` seconds, finished messages older than
    ``policy.keep_for`` are deleted (see :func:`confiance.background.run_rounds`)."""
    own_client = client is None
    http = make_client(policy) if client is None else client

    def deliver() -> bool:
        tried = deliver_due(
            db, keys=keys, client=http, policy=policy, batch=batch, on_outcome=on_outcome
        )
        return tried >= batch

    def prune() -> None:
        with db.transaction() as session:
            service.prune(session, before=clock.now() - policy.keep_for)

    try:
        run_rounds(
            stop=stop,
            deliver=deliver,
            prune=prune,
            poll=poll_interval,
            prune_every=prune_every,
            label="webhook",
        )
    finally:
        if own_client:
            http.close()


class BackgroundWorker(DaemonWorker):
    """:func:`run_worker` in a daemon thread, for ``confiance serve`` (a delivery in flight
    finishes first on ``stop()``, or is sent again later if the process is killed)."""

    def __init__(
        self,
        db: Database,
        *,
        keys: KeyringSource,
        policy: DeliveryPolicy = DEFAULT_POLICY,
        poll_interval: float = 0.5,
        batch: int = 50,
    ) -> None:
        super().__init__(
            lambda stop: run_worker(
                db,
                keys=keys,
                stop=stop,
                policy=policy,
                poll_interval=poll_interval,
                batch=batch,
            ),
            name="confiance-webhooks",
        )
