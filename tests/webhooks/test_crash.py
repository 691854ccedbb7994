"""A worker killed mid-delivery loses nothing and resends with the same webhook-id."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import select

from confiance.runtime import Runtime
from confiance.webhooks import service
from confiance.webhooks.models import OutboxMessage
from tests.conftest import PG_URL
from tests.webhooks.conftest import Receiver, Subscribed, consent_payload

WORKER = Path(__file__).with_name("worker_process.py")


def _start_worker(
    runtime: Runtime, schema: str, offset_seconds: float, log: Path
) -> subprocess.Popen[bytes]:
    url = PG_URL if runtime.db.is_postgresql else runtime.db.url.render_as_string()
    assert url is not None
    with log.open("ab") as err:
        return subprocess.Popen(
            [
                sys.executable,
                str(WORKER),
                url,
                schema,
                str(runtime.keys.path),
                str(offset_seconds),
            ],
            stdout=subprocess.DEVNULL,
            stderr=err,
            env={**os.environ, "PYTHONWARNINGS": "error"},
        )


def _states(runtime: Runtime) -> dict[str, tuple[str, int, bool]]:
    with runtime.db.transaction() as session:
        rows = session.execute(
            select(
                OutboxMessage.id,
                OutboxMessage.state,
                OutboxMessage.attempts,
                OutboxMessage.claimed_until,
            )
        ).all()
    return {r.id: (r.state, r.attempts, r.claimed_until is not None) for r in rows}


def _wait_until(condition: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting until {what}")


def test_a_worker_killed_mid_delivery_loses_nothing_and_resends_the_same_id(
    runtime: Runtime,
    receiver: Receiver,
    subscribe: Callable[..., Subscribed],
    deliver: Callable[..., int],
    request: pytest.FixtureRequest,
    tmp_path: Path,
) -> None:
    schema = request.getfixturevalue("pg_schema") if runtime.db.is_postgresql else ""
    sub = subscribe()
    with runtime.db.transaction() as session:
        ids = [
            i
            for n in range(5)
            for i in service.enqueue(
                session, event_type="consent.changed", payload=consent_payload(n)
            )
        ]
    # The first worker claims all five; the receiver answers two, then holds the third
    # request until the worker is dead: sent, never recorded. The last two are claimed, unsent.
    receiver.hold_on(3)
    log = tmp_path / "worker.log"
    first = _start_worker(runtime, schema, 0, log)
    try:
        held = receiver.wait_for(3)[2].webhook_id
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    receiver.release()
    states = _states(runtime)
    assert sorted(s for s, _, _ in states.values()) == ["delivered"] * 2 + ["pending"] * 3
    assert states[held] == ("pending", 1, True)
    unsent = [i for i, (s, _, _) in states.items() if s == "pending" and i != held]
    assert all(states[i] == ("pending", 1, True) for i in unsent)
    assert len(receiver.requests) == 3

    # While the dead worker's lease runs, nobody takes its messages.
    assert deliver() == 0

    # A worker started once the lease has run out finds and sends them again.
    second = _start_worker(runtime, schema, 3600, log)
    try:
        _wait_until(
            lambda: all(s == "delivered" for s, _, _ in _states(runtime).values()),
            "every message is delivered",
        )
    finally:
        second.send_signal(signal.SIGTERM)
        assert second.wait(20) == 0, log.read_text()
    assert "Traceback" not in log.read_text(), log.read_text()

    # At least once: every event arrived, the held one twice under the same webhook-id, and a
    # receiver deduplicating on webhook-id keeps exactly the set of events.
    sent = Counter(r.webhook_id for r in receiver.requests)
    assert set(sent) == set(ids)
    assert sent[held] == 2
    assert all(sent[i] == 1 for i in ids if i != held)
    assert receiver.unique_ids() == set(ids)
    assert all(r.signed_with(sub.secret) for r in receiver.requests)
    twice = [r.body for r in receiver.requests if r.webhook_id == held]
    assert twice[0] == twice[1]

    with runtime.db.transaction() as session:
        log_entries = service.delivery_log(session, subscription_id=sub.id)
    by_message: dict[str, list[tuple[int, str, str | None]]] = {}
    for e in reversed(log_entries):
        by_message.setdefault(e.message_id, []).append((e.attempt, e.outcome, e.error))
    for message_id in [held, *unsent]:
        assert by_message[message_id] == [
            (1, "unknown", "lease-expired"),
            (2, "delivered", None),
        ]
    assert all(len(v) == 1 for k, v in by_message.items() if k not in {held, *unsent})
