"""``confiance webhooks ...`` as an operator uses it, on the test installation."""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from confiance.actors import Actor
from confiance.runtime import Runtime
from confiance.webhooks import service
from confiance.webhooks.cli import build_app
from tests.webhooks.conftest import Receiver, consent_payload


@pytest.fixture
def app(runtime: Runtime) -> typer.Typer:
    @contextlib.contextmanager
    def open_runtime(_data_dir: Path | None) -> Iterator[Runtime]:
        yield runtime

    return build_app(open_runtime=open_runtime, operator=lambda: Actor.operator("ops"))


def test_add_list_deliveries_rotate_and_disable(
    app: typer.Typer, runtime: Runtime, receiver: Receiver, deliver: Callable[..., int]
) -> None:
    cli = CliRunner(env={"COLUMNS": "160"})
    added = cli.invoke(
        app, ["add", "--url", receiver.url, "--events", "consent.changed", "--name", "crm"]
    )
    assert added.exit_code == 0, added.output
    secret = added.stdout.strip()
    assert secret.startswith("whsec_")
    with runtime.db.transaction() as session:
        [info] = service.list_subscriptions(session)
        service.enqueue(session, event_type="consent.changed", payload=consent_payload())
    assert info.created_by == "cli:ops"

    listed = cli.invoke(app, ["list"])
    assert listed.exit_code == 0, listed.output
    assert info.id in listed.output and secret not in listed.output
    assert "1 messages waiting" in listed.output

    assert deliver() == 1
    log = cli.invoke(app, ["deliveries", info.id])
    assert log.exit_code == 0, log.output
    assert "delivered" in log.output and "200" in log.output

    rotated = cli.invoke(app, ["rotate-secret", info.id, "--overlap-hours", "1"])
    assert rotated.exit_code == 0, rotated.output
    assert rotated.stdout.strip().startswith("whsec_") and rotated.stdout.strip() != secret

    disabled = cli.invoke(app, ["disable", info.id])
    assert disabled.exit_code == 0, disabled.output
    with runtime.db.transaction() as session:
        assert not service.get_subscription(session, subscription_id=info.id).active


def test_worker_command_delivers_until_sigterm(
    app: typer.Typer, runtime: Runtime, receiver: Receiver
) -> None:
    cli = CliRunner()
    assert cli.invoke(app, ["add", "--url", receiver.url]).exit_code == 0
    with runtime.db.transaction() as session:
        [message_id] = service.enqueue(
            session, event_type="consent.changed", payload=consent_payload()
        )

    def stop_when_delivered() -> None:
        receiver.wait_for(1)
        os.kill(os.getpid(), signal.SIGTERM)

    stopper = threading.Thread(target=stop_when_delivered)
    stopper.start()
    result = cli.invoke(app, ["worker", "--poll-interval", "0.05"])
    stopper.join(10)
    assert result.exit_code == 0, result.output
    assert "Webhook worker stopped: 1 delivered" in result.output
    assert receiver.requests[0].webhook_id == message_id
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL or callable(
        signal.getsignal(signal.SIGTERM)
    )
