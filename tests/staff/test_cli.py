"""`confiance admin` and the demo's staff account, as an operator uses them."""

from __future__ import annotations

import re
from pathlib import Path

import pyotp
import pytest
from typer.testing import CliRunner

from confiance.cli import app
from confiance.config import Settings
from confiance.runtime import Runtime
from confiance.staff.service import SignedIn

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "maison-exemple.yaml"


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("CONFIANCE__DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("CONFIANCE__DATABASE__URL", raising=False)
    monkeypatch.setenv("COLUMNS", "200")
    import confiance.cli

    monkeypatch.setattr(confiance.cli.console, "width", 200)
    runner = CliRunner()
    assert runner.invoke(app, ["init"]).exit_code == 0
    return runner


def sign_in(email: str, password: str) -> object:
    runtime = Runtime.open(Settings())
    try:
        with runtime.db.transaction() as s:
            return runtime.staff.sign_in(s, email=email, password=password)
    finally:
        runtime.close()


def test_admin_create_prints_a_password_once_that_signs_in(cli: CliRunner) -> None:
    made = cli.invoke(app, ["admin", "create", "--email", "Ada@Maison-Exemple.example"])
    assert made.exit_code == 0, made.output
    match = re.search(r"^([A-Za-z0-9]{20})$", made.output, flags=re.M)
    assert match is not None
    password = match.group(1)
    assert isinstance(sign_in("ada@maison-exemple.example", password), SignedIn)
    listed = cli.invoke(app, ["admin", "list"])
    assert "ada@maison-exemple.example" in listed.output and "to enrol" in listed.output
    assert password not in listed.output
    again = cli.invoke(app, ["admin", "create", "--email", "ada@maison-exemple.example"])
    assert again.exit_code == 1 and "exists already" in again.output
    wrong_role = cli.invoke(app, ["admin", "create", "--email", "b@x.example", "--role", "boss"])
    assert wrong_role.exit_code == 1 and "auditor" in wrong_role.output
    assert cli.invoke(app, ["admin", "disable", "ada@maison-exemple.example"]).exit_code == 0
    assert not isinstance(sign_in("ada@maison-exemple.example", password), SignedIn)


def test_the_demo_prints_its_dpo_account_once(cli: CliRunner) -> None:
    first = cli.invoke(app, ["demo", "--customers", "5", "--no-serve"])
    assert first.exit_code == 0, first.output
    password = re.search(r"password (\S+)", first.output)
    secret = re.search(r"TOTP secret (\S+)", first.output)
    assert password is not None and secret is not None
    signed = sign_in("dpo@maison-exemple.example", password.group(1))
    assert isinstance(signed, SignedIn)
    runtime = Runtime.open(Settings())
    try:
        with runtime.db.transaction() as s:
            full = runtime.staff.verify_totp(
                s, token=signed.token, code=pyotp.TOTP(secret.group(1)).now()
            )
        assert isinstance(full, SignedIn) and full.complete and full.user.role == "dpo"
    finally:
        runtime.close()
    rerun = cli.invoke(app, ["demo", "--customers", "5", "--no-serve"])
    assert rerun.exit_code == 0 and "TOTP secret" not in rerun.output
