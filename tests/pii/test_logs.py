"""Nothing the scanner reads appears in a log record or an error message."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from confiance.pii import FreeTextAction, FreeTextPolicy, Scanner, UnreadableInput
from confiance.pii.documents import load_document
from tests.pii import values


def test_scanning_logs_no_value(scanner: Scanner, caplog: pytest.LogCaptureFixture) -> None:
    secrets = ["Durand", "06 12 34 56 78", values.nir_number(), "lea@exemple.example"]
    text = f"Madame {secrets[0]}, {secrets[1]}, NIR {secrets[2]}, {secrets[3]}"
    with caplog.at_level(logging.DEBUG):
        scanner.scan_many([text] * 3, language="auto")
        FreeTextPolicy(action=FreeTextAction.REDACT).apply({"body": text})
    logged = caplog.text + " ".join(str(r.args) for r in caplog.records)
    assert not any(secret in logged for secret in secrets)


def test_errors_name_the_problem_not_the_content(tmp_path: Path) -> None:
    source = tmp_path / "broken.json"
    source.write_text('{"note": "lea@exemple.example" ', encoding="utf-8")
    with pytest.raises(UnreadableInput) as raised:
        load_document(source)
    assert "lea@exemple.example" not in str(raised.value)
    assert "not JSON" in str(raised.value)
