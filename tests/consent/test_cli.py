"""`confiance consent`, `receipts` and `tcf` as an operator uses them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from confiance.actors import Actor
from confiance.cli import app
from confiance.config import Settings
from confiance.demo.generator import CustomerFactory
from confiance.runtime import Runtime

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "maison-exemple.yaml"


@pytest.fixture
def installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[CliRunner, str]:
    monkeypatch.setenv("CONFIANCE__DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("CONFIANCE__DATABASE__URL", raising=False)
    import confiance.cli

    monkeypatch.setattr(confiance.cli.console, "width", 200)
    cli = CliRunner()
    assert cli.invoke(app, ["init"]).exit_code == 0
    assert cli.invoke(app, ["manifest", "load", str(EXAMPLE)]).exit_code == 0
    runtime = Runtime.open(Settings())
    record = CustomerFactory(seed=3).customer()
    values = {k: record[k] for k in ("first_name", "last_name", "email", "phone")}
    try:
        with runtime.db.transaction() as s:
            customer = runtime.vault.collect(
                s, actor=Actor.operator("t"), purposes=["order_fulfilment"], values=values
            ).id
    finally:
        runtime.close()
    return cli, str(customer)


def test_set_show_history_receipt_and_audience(
    installed: tuple[CliRunner, str], tmp_path: Path
) -> None:
    cli, customer = installed
    done = cli.invoke(
        app,
        [
            "consent",
            "set",
            customer,
            "email_marketing=given",
            "@sale_sharing=refused",
            "--channel",
            "import",
        ],
    )
    assert done.exit_code == 0, done.output
    receipt_id = done.output.strip().rsplit(" ", 1)[-1].rstrip(".")
    shown = cli.invoke(app, ["consent", "show", customer])
    assert shown.exit_code == 0
    row = next(line for line in shown.output.splitlines() if "email_marketing" in line)
    assert "given" in row and "yes" in row
    history = cli.invoke(app, ["consent", "history", customer])
    assert "email_marketing" in history.output and "import" in history.output

    receipt_file = tmp_path / "r.jws"
    written = cli.invoke(app, ["consent", "receipt", receipt_id, "--out", str(receipt_file)])
    assert written.exit_code == 0, written.output
    verified = cli.invoke(app, ["receipts", "verify", str(receipt_file)])
    assert verified.exit_code == 0, verified.output
    receipt = json.loads(verified.stdout)
    assert receipt["consentReceiptID"] == receipt_id
    tampered = tmp_path / "t.jws"
    text = receipt_file.read_text().strip()
    tampered.write_text(text[:-2] + ("AA" if text[-2:] != "AA" else "BB"))
    assert cli.invoke(app, ["receipts", "verify", str(tampered)]).exit_code == 1

    out = tmp_path / "a.csv"
    exported = cli.invoke(app, ["consent", "audience", "email_marketing", "--out", str(out)])
    assert exported.exit_code == 0, exported.output
    assert out.read_text().splitlines() == ["customer_id", customer]
    bad = cli.invoke(app, ["consent", "set", customer, "email_marketing"])
    assert bad.exit_code == 2
    refused = cli.invoke(app, ["consent", "set", customer, "order_fulfilment=refused"])
    assert refused.exit_code == 1
    assert "contract" in refused.output


def test_tcf_decode_prints_the_iab_names_and_rejects_bad_strings(shared_data: Path) -> None:
    cli = CliRunner()
    vectors = json.loads((shared_data / "tcf" / "vectors.json").read_text())
    first = vectors["tcf_v2_valid"][0]
    decoded = cli.invoke(app, ["tcf", "decode", first["tc_string"]])
    assert decoded.exit_code == 0, decoded.output
    assert json.loads(decoded.stdout)["cmpId"] == first["expected"]["cmpId"]
    invalid = cli.invoke(app, ["tcf", "decode", vectors["tcf_v2_invalid"][0]["tc_string"]])
    assert invalid.exit_code == 1
