"""``confiance receipts verify`` as a customer or an auditor uses it on a downloaded receipt."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from confiance.crypto import Keyring, write_keyring
from confiance.receipts import ReceiptChange, ReceiptKey, sign
from confiance.receipts.cli import receipts_app
from tests.receipts.conftest import Build


@pytest.fixture
def receipt(build: Build) -> dict[str, Any]:
    return build([ReceiptChange(purpose_key="email_marketing", state="withdrawn")])


@pytest.fixture
def token(receipt: dict[str, Any], receipt_key: ReceiptKey) -> str:
    return sign(receipt, seed=receipt_key.seed, kid=receipt_key.kid)


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> CliRunner:
    monkeypatch.setenv("CONFIANCE__DATA_DIR", str(tmp_path / "no-installation"))
    monkeypatch.delenv("CONFIANCE__CRYPTO__KEYRING", raising=False)
    monkeypatch.delenv("CONFIANCE__CRYPTO__KEYRING_FILE", raising=False)
    return CliRunner()


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def test_a_valid_receipt_is_printed_and_exits_0(
    runner: CliRunner,
    tmp_path: Path,
    token: str,
    receipt: dict[str, Any],
    receipt_key: ReceiptKey,
) -> None:
    path = tmp_path / "receipt.jws"
    path.write_text(token + "\n")
    result = runner.invoke(
        receipts_app, ["verify", str(path), "--public-key", _b64(receipt_key.public_key)]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == receipt
    assert result.stderr.strip() == "valid"


def test_a_json_download_and_a_jwk_file_are_accepted(
    runner: CliRunner,
    tmp_path: Path,
    token: str,
    receipt: dict[str, Any],
    receipt_key: ReceiptKey,
) -> None:
    download = tmp_path / "receipt.json"
    # The unsigned copy next to the token is never what gets printed.
    forged = {**receipt, "piiPrincipalId": "someone-else"}
    download.write_text(json.dumps({"jws": token, "receipt": forged}))
    jwk = tmp_path / "receipt-key.jwk"
    jwk.write_text(json.dumps(receipt_key.jwk()))
    result = runner.invoke(receipts_app, ["verify", str(download), "--public-key", str(jwk)])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == receipt


def test_a_tampered_receipt_exits_1_with_the_reason(
    runner: CliRunner, tmp_path: Path, token: str, receipt_key: ReceiptKey
) -> None:
    header, payload, signature = token.split(".")
    flipped = "A" if payload[10] != "A" else "B"
    path = tmp_path / "receipt.jws"
    path.write_text(f"{header}.{payload[:10]}{flipped}{payload[11:]}.{signature}")
    result = runner.invoke(
        receipts_app, ["verify", str(path), "--public-key", _b64(receipt_key.public_key)]
    )
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "invalid" in result.stderr
    assert "signature does not verify" in result.stderr


def test_a_wrong_public_key_exits_1(runner: CliRunner, tmp_path: Path, token: str) -> None:
    path = tmp_path / "receipt.jws"
    path.write_text(token)
    other = ReceiptKey.from_ring(Keyring.generate())
    result = runner.invoke(
        receipts_app, ["verify", str(path), "--public-key", _b64(other.public_key)]
    )
    assert result.exit_code == 1
    assert "signature does not verify" in result.stderr


def test_a_file_without_a_receipt_exits_1(
    runner: CliRunner, tmp_path: Path, receipt_key: ReceiptKey
) -> None:
    path = tmp_path / "receipt.json"
    path.write_text(json.dumps({"jws": 5}))
    result = runner.invoke(
        receipts_app, ["verify", str(path), "--public-key", _b64(receipt_key.public_key)]
    )
    assert result.exit_code == 1
    assert "No receipt found" in result.stderr


def test_without_a_public_key_the_installation_key_is_used(
    runner: CliRunner, tmp_path: Path, receipt: dict[str, Any]
) -> None:
    ring = Keyring.generate()
    data_dir = tmp_path / "data"
    write_keyring(data_dir / "keyring.json", ring)
    key = ReceiptKey.from_ring(ring)
    path = tmp_path / "receipt.jws"
    path.write_text(sign(receipt, seed=key.seed, kid=key.kid))
    result = runner.invoke(receipts_app, ["verify", str(path), "--data-dir", str(data_dir)])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == receipt

    other_dir = tmp_path / "other"
    write_keyring(other_dir / "keyring.json", Keyring.generate())
    result = runner.invoke(receipts_app, ["verify", str(path), "--data-dir", str(other_dir)])
    assert result.exit_code == 1


def test_without_any_key_it_says_what_is_missing(
    runner: CliRunner, tmp_path: Path, token: str
) -> None:
    path = tmp_path / "receipt.jws"
    path.write_text(token)
    result = runner.invoke(receipts_app, ["verify", str(path)])
    assert result.exit_code == 1
    assert "No key file" in result.stderr


def test_an_unreadable_public_key_is_a_usage_error(
    runner: CliRunner, tmp_path: Path, token: str
) -> None:
    path = tmp_path / "receipt.jws"
    path.write_text(token)
    result = runner.invoke(receipts_app, ["verify", str(path), "--public-key", "not-a-key!"])
    assert result.exit_code == 2
    assert "--public-key" in result.stderr
