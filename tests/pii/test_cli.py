"""``confiance pii scan`` over text, CSV columns and JSON, with the operators."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import typer
from typer.testing import CliRunner

from confiance.pii import Scanner
from confiance.pii.cli import build_app
from tests.pii import values

runner = CliRunner()


def app() -> typer.Typer:
    return build_app(open_runtime=None)


def test_text_file_report_in_json(tmp_path: Path, scanner: Scanner) -> None:
    source = tmp_path / "notes.txt"
    source.write_text(
        "Appel de Madame Durand.\nRappeler au 06 12 34 56 78.\nRien ici.\n", encoding="utf-8"
    )
    result = runner.invoke(app(), ["scan", str(source), "--lang", "fr", "--format", "json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)["findings"]
    assert [(r["location"], r["entity"]) for r in report] == [
        ("line 1", "person"),
        ("line 2", "phone"),
    ]
    # The report gives offsets, never the values themselves.
    assert "Durand" not in result.stdout and "06 12" not in result.stdout


def test_csv_columns_and_replace(tmp_path: Path, scanner: Scanner) -> None:
    source = tmp_path / "tickets.csv"
    iban = values.iban_number()
    source.write_text(
        "id,reference,note\n"
        "1,Madame Durand,Remboursez sur " + iban + "\n"
        "2,x,écrire à lea@exemple.example\n",
        encoding="utf-8",
    )
    out = tmp_path / "clean.csv"
    result = runner.invoke(
        app(),
        ["scan", str(source), "--columns", "note", "--format", "csv",
         "--operator", "replace", "--out", str(out)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    report = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [(r["location"], r["entity"]) for r in report] == [
        ("row 1, column note", "iban"),
        ("row 2, column note", "email"),
    ]
    rows = list(csv.reader(io.StringIO(out.read_text(encoding="utf-8"))))
    # Only the chosen column is rewritten: the name in "reference" stays.
    assert rows[1] == ["1", "Madame Durand", "Remboursez sur <iban>"]
    assert rows[2] == ["2", "x", "écrire à <email>"]


def test_unknown_column_is_an_error(tmp_path: Path, scanner: Scanner) -> None:
    source = tmp_path / "t.csv"
    source.write_text("a,b\n1,2\n", encoding="utf-8")
    result = runner.invoke(app(), ["scan", str(source), "--columns", "notes"])
    assert result.exit_code == 1
    assert "no column named notes" in result.output


def test_json_keys_and_mask(tmp_path: Path, scanner: Scanner) -> None:
    source = tmp_path / "tickets.json"
    data = {
        "tickets": [
            {"subject": "Mrs Doyle", "body": "Call me on +44 20 7946 0958 please."},
            {"subject": "ok", "body": "Born on 14 July 1979."},
        ]
    }
    source.write_text(json.dumps(data), encoding="utf-8")
    out = tmp_path / "masked.json"
    result = runner.invoke(
        app(),
        ["scan", str(source), "--lang", "en", "--columns", "body", "--format", "json",
         "--operator", "mask", "--out", str(out)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)["findings"]
    assert [(r["location"], r["entity"]) for r in report] == [
        ("$.tickets[0].body", "phone"),
        ("$.tickets[1].body", "date_of_birth"),
    ]
    masked = json.loads(out.read_text(encoding="utf-8"))
    assert masked["tickets"][0] == {
        "subject": "Mrs Doyle",
        "body": "Call me on +** ** **** **** please.",
    }
    assert masked["tickets"][1]["body"] == "Born on ** **** ****."


def test_text_report_and_operator_needs_out(tmp_path: Path, scanner: Scanner) -> None:
    source = tmp_path / "n.txt"
    source.write_text("Mr Aldous Pemberly", encoding="utf-8")
    result = runner.invoke(app(), ["scan", str(source)])
    assert result.exit_code == 0
    assert "1 finding(s) in 1 cell(s)." in result.stdout
    refused = runner.invoke(app(), ["scan", str(source), "--operator", "redact"])
    assert refused.exit_code == 2
