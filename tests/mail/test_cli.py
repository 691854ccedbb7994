"""``confiance mail ...`` as an operator uses it, on the test installation."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from confiance.config import Settings
from confiance.mail import service
from confiance.mail.cli import build_app
from confiance.mail.errors import MailNotConfigured
from confiance.runtime import Runtime
from tests.mail.smtp import SmtpServer


def _app(runtime: Runtime, settings: Settings) -> typer.Typer:
    configured = Runtime.assemble(settings, db=runtime.db, keys=runtime.keys)

    @contextlib.contextmanager
    def open_runtime(_data_dir: Path | None) -> Iterator[Runtime]:
        yield configured

    return build_app(open_runtime=open_runtime)


def _enqueue(runtime: Runtime, to: str, n: int = 1) -> list[str]:
    with runtime.db.transaction() as session:
        return [
            service.enqueue(
                session,
                keys=runtime.keys,
                to=to,
                subject="Votre code de vérification",
                text="Votre code : 481 207",
                kind="rights.code",
            )
            for _ in range(n)
        ]


def test_status_deliver_and_log(
    runtime: Runtime, smtp: SmtpServer, mail_settings: Settings, address: str
) -> None:
    app = _app(runtime, mail_settings)
    cli = CliRunner(env={"COLUMNS": "200"})
    ids = _enqueue(runtime, address, 3)
    smtp.refuse_recipient(f"550 5.1.1 <{address}>: User unknown")

    before = cli.invoke(app, ["status"])
    assert before.exit_code == 0, before.output
    assert "pending" in before.output and "3" in before.output
    assert f"SMTP {smtp.host}:{smtp.port} (none)" in before.output
    assert "warning" not in before.output

    sent = cli.invoke(app, ["deliver"])
    assert sent.exit_code == 0, sent.output
    assert "2 sent, 0 to retry later, 1 failed." in sent.output
    assert len(smtp.wait_for(2)) == 2

    log = cli.invoke(app, ["log"])
    assert log.exit_code == 0, log.output
    for message_id in ids:
        assert message_id in log.output
    assert "recipient-refused 550" in log.output
    failed_only = cli.invoke(app, ["log", "--state", "failed"])
    assert failed_only.output.count("rights.code") == 1

    for result in (before, sent, log, failed_only):
        assert address not in result.output and address.split("@")[0] not in result.output
        assert "481 207" not in result.output and "unknown" not in result.output.lower()


def test_without_a_transport_status_warns_and_deliver_refuses(
    runtime: Runtime, address: str
) -> None:
    app = _app(runtime, runtime.settings)
    _enqueue(runtime, address)
    cli = CliRunner()
    status = cli.invoke(app, ["status"])
    assert status.exit_code == 0, status.output
    assert "warning" in status.output and "CONFIANCE__MAIL__HOST" in status.output
    refused = cli.invoke(app, ["deliver"])
    assert isinstance(refused.exception, MailNotConfigured)


@pytest.mark.parametrize("limit", [1, 2])
def test_deliver_sends_at_most_the_limit(
    runtime: Runtime, smtp: SmtpServer, mail_settings: Settings, address: str, limit: int
) -> None:
    app = _app(runtime, mail_settings)
    _enqueue(runtime, address, 3)
    result = CliRunner().invoke(app, ["deliver", "--limit", str(limit)])
    assert result.exit_code == 0, result.output
    assert f"{limit} sent" in result.output
    with runtime.db.read() as session:
        assert service.status(session).pending == 3 - limit
