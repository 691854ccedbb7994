"""`confiance rights` as staff use it: a request taken by phone, verified, queued, answered."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from confiance.actors import Actor
from confiance.cli import app
from confiance.config import Settings
from confiance.runtime import Runtime
from tests.rights.test_service import last_code

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "maison-exemple.yaml"
EMAIL = "gaspard.lemoine@courriel.example"


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("CONFIANCE__DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("CONFIANCE__DATABASE__URL", raising=False)
    monkeypatch.setenv("COLUMNS", "200")
    runner = CliRunner()
    assert runner.invoke(app, ["init"]).exit_code == 0
    assert runner.invoke(app, ["manifest", "load", str(EXAMPLE)]).exit_code == 0
    runtime = Runtime.open(Settings())
    try:
        with runtime.db.transaction() as s:
            runtime.vault.collect(
                s,
                actor=Actor.operator("t"),
                purposes=["order_fulfilment"],
                values={"email": EMAIL, "first_name": "Gaspard", "city": "Rennes"},
            )
    finally:
        runtime.close()
    return runner


def code_for(email: str) -> str:
    runtime = Runtime.open(Settings())
    try:
        return last_code(runtime, email)
    finally:
        runtime.close()


def test_a_request_by_phone_from_submission_to_export(cli: CliRunner, tmp_path: Path) -> None:
    submitted = cli.invoke(app, ["rights", "submit", "--kind", "access", "--email", EMAIL])
    assert submitted.exit_code == 0, submitted.output
    match = re.search(r"R-[0-9A-Z]{4}-[0-9A-Z]{4}", submitted.output)
    assert match is not None
    reference = match.group(0)
    assert EMAIL not in submitted.output

    wrong = cli.invoke(app, ["rights", "verify", reference, "000000"])
    code = code_for(EMAIL)
    if code != "000000":
        assert wrong.exit_code == 1 and "attempts left" in wrong.output
    verified = cli.invoke(app, ["rights", "verify", reference.lower(), code_for(EMAIL)])
    assert verified.exit_code == 0, verified.output

    queue = cli.invoke(app, ["rights", "queue"])
    assert reference in queue.output and "on_time" in queue.output

    approved = cli.invoke(app, ["rights", "approve", reference])
    assert approved.exit_code == 0, approved.output
    assert "completed" in approved.output

    out = tmp_path / "export.zip"
    exported = cli.invoke(app, ["rights", "export", reference, "--out", str(out)])
    assert exported.exit_code == 0, exported.output
    assert "summary.html" in zipfile.ZipFile(out).namelist()
    assert "Gaspard" in zipfile.ZipFile(out).read("data.json").decode()


def test_erasure_certificate_round_trip(cli: CliRunner, tmp_path: Path) -> None:
    submitted = cli.invoke(app, ["rights", "submit", "--kind", "erasure", "--email", EMAIL])
    match = re.search(r"R-[0-9A-Z]{4}-[0-9A-Z]{4}", submitted.output)
    assert match is not None
    reference = match.group(0)
    assert cli.invoke(app, ["rights", "verify", reference, code_for(EMAIL)]).exit_code == 0
    assert cli.invoke(app, ["rights", "approve", reference]).exit_code == 0
    certificate = tmp_path / "certificate.jws"
    shown = cli.invoke(app, ["rights", "certificate", reference, "--out", str(certificate)])
    assert shown.exit_code == 0, shown.output
    checked = cli.invoke(app, ["rights", "check-certificate", str(certificate)])
    assert checked.exit_code == 0 and "valid" in checked.output
    tampered = tmp_path / "tampered.jws"
    text = certificate.read_text().strip()
    tampered.write_text(text[:-3] + ("xyz" if not text.endswith("xyz") else "abc"))
    refused = cli.invoke(app, ["rights", "check-certificate", str(tampered)])
    assert refused.exit_code == 1 and "does not verify" in refused.output


def test_bad_commands_explain_what_to_fix(cli: CliRunner) -> None:
    wrong_kind = cli.invoke(app, ["rights", "submit", "--kind", "delete", "--email", EMAIL])
    assert wrong_kind.exit_code == 1 and "erasure" in wrong_kind.output
    unknown = cli.invoke(app, ["rights", "show", "R-0000-0000"])
    assert unknown.exit_code == 1 and "No request" in unknown.output
    bad_value = cli.invoke(
        app, ["rights", "submit", "--kind", "rectification", "--email", EMAIL, "--value", "city"]
    )
    assert bad_value.exit_code == 1 and "field=value" in bad_value.output
