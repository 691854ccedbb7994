"""The `confiance` command as an operator uses it, on an embedded SQLite file."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from confiance.cli import app
from tests.support import free_port

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "maison-exemple.yaml"


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("CONFIANCE__DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("CONFIANCE__DATABASE__URL", raising=False)
    import confiance.cli

    monkeypatch.setattr(confiance.cli.console, "width", 200)
    return CliRunner()


def test_init_creates_a_private_key_file_and_is_idempotent(cli: CliRunner, tmp_path: Path) -> None:
    result = cli.invoke(app, ["init"])
    assert result.exit_code == 0, result.output
    key_file = tmp_path / "data" / "keyring.json"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    content = key_file.read_bytes()
    again = cli.invoke(app, ["init"])
    assert again.exit_code == 0, again.output
    assert key_file.read_bytes() == content
    assert str(key_file) in result.output and "0600" in result.output
    ring = json.loads(content)
    for secret in [k["key"] for k in ring["keks"]] + [ring["blind_index_key"]]:
        assert secret not in result.output


def test_manifest_check_reports_lines_and_exits_non_zero(cli: CliRunner, tmp_path: Path) -> None:
    ok = cli.invoke(app, ["manifest", "check", str(EXAMPLE)])
    assert ok.exit_code == 0, ok.output
    bad = tmp_path / "bad.yaml"
    text = EXAMPLE.read_text(encoding="utf-8").replace(
        "user.contact.email", "user.contact.emial", 1
    )
    bad.write_text(text, encoding="utf-8")
    line = next(i for i, ln in enumerate(text.splitlines(), 1) if "user.contact.emial" in ln)
    result = cli.invoke(app, ["manifest", "check", str(bad)])
    assert result.exit_code == 1
    assert f"{bad}:{line}:" in result.output


def test_operator_flow_load_key_verify_rotate(cli: CliRunner) -> None:
    assert cli.invoke(app, ["init"]).exit_code == 0
    loaded = cli.invoke(app, ["manifest", "load", str(EXAMPLE)])
    assert loaded.exit_code == 0, loaded.output
    assert "version 1" in loaded.output
    again = cli.invoke(app, ["manifest", "load", str(EXAMPLE)])
    assert "already stored as version 1" in again.output

    created = cli.invoke(
        app,
        ["apikey", "create", "--purposes", "order_fulfilment,fraud_prevention", "--name", "crm"],
    )
    assert created.exit_code == 0, created.output
    assert "cfk_" in created.output
    refused = cli.invoke(app, ["apikey", "create", "--purposes", "telepathy"])
    assert refused.exit_code == 1
    assert "telepathy" in refused.output

    listed = cli.invoke(app, ["apikey", "list"])
    assert "crm" in listed.output and "fraud_prevention" in listed.output

    verified = cli.invoke(app, ["audit", "verify"])
    assert verified.exit_code == 0, verified.output
    assert "intact" in verified.output

    rotated = cli.invoke(app, ["keys", "rotate", "--grace", "0"])
    assert rotated.exit_code == 0, rotated.output
    assert "retired" in rotated.output
    status = cli.invoke(app, ["keys", "status"])
    assert "primary" in status.output and "unwrap only" not in status.output


def test_demo_answers_at_its_url(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONFIANCE__")}
    env["CONFIANCE__DATA_DIR"] = str(tmp_path / "demo")
    process = subprocess.Popen(
        [sys.executable, "-m", "confiance", "demo", "--customers", "40", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        page = None
        while time.monotonic() < deadline:
            try:
                page = httpx.get(f"http://127.0.0.1:{port}/", timeout=2)
                break
            except httpx.TransportError:
                assert process.poll() is None, process.stdout.read() if process.stdout else ""
                time.sleep(0.3)
        assert page is not None and page.status_code == 200
        assert "Maison Exemple" in page.text
        assert "40" in page.text
        assert httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).json()["status"] == "ok"
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=30)
    assert f"http://127.0.0.1:{port}/" in output
    assert "cfk_" in output


def test_several_workers_are_refused_on_sqlite(cli: CliRunner) -> None:
    assert cli.invoke(app, ["init"]).exit_code == 0
    result = cli.invoke(app, ["serve", "--workers", "2"])
    assert result.exit_code == 2
    assert "PostgreSQL" in result.output


def test_commands_on_an_uninitialised_directory_say_what_to_do(cli: CliRunner) -> None:
    result = cli.invoke(app, ["audit", "verify"])
    assert result.exit_code == 1
    assert "confiance init" in result.output
