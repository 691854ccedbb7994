"""Fixtures for receipts: the example manifest, a fictional receipt key, the Kantara schema."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from confiance.crypto import Keyring
from confiance.manifest.checks import parse_manifest
from confiance.manifest.schemas import Manifest
from confiance.manifest.service import canonical_sha256
from confiance.receipts import ReceiptChange, ReceiptKey, build_receipt

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_MANIFEST = ROOT / "examples" / "maison-exemple.yaml"
# tests/receipts/conftest.py -> parents: receipts, tests, main, /work: shared/ sits next to main/.
KANTARA = Path(__file__).resolve().parents[3] / "shared" / "data" / "kantara"
KANTARA_SCHEMA = KANTARA / "kantara-consent-receipt-v1_1-schema.json"
KANTARA_EXAMPLE = KANTARA / "kantara-consent-receipt-v1_1-example.json"

# A fictional customer's pseudonymous id and a fixed moment.
SUBJECT = "9b2f6c1e-5d7a-4e38-a0c4-2f61d8e93b57"
ISSUED_AT = datetime(2025, 3, 14, 9, 26, 53, 589_000, tzinfo=UTC)


def load_kantara_json(path: Path) -> Any:
    """The file's JSON, without the '//' comment lines the published schema carries."""
    if not path.is_file():
        pytest.skip(f"Kantara reference data not found at {path}")
    lines = path.read_text(encoding="utf-8").splitlines()
    return json.loads("\n".join(line for line in lines if not line.lstrip().startswith("//")))


@pytest.fixture(scope="session")
def kantara() -> jsonschema.Draft4Validator:
    schema = load_kantara_json(KANTARA_SCHEMA)
    jsonschema.Draft4Validator.check_schema(schema)
    return jsonschema.Draft4Validator(schema)


@pytest.fixture(scope="session")
def manifest() -> Manifest:
    return parse_manifest(EXAMPLE_MANIFEST.read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def receipt_key() -> ReceiptKey:
    return ReceiptKey.from_ring(Keyring.generate())


Build = Callable[..., dict[str, Any]]


@pytest.fixture
def build(manifest: Manifest) -> Build:
    """build_receipt with realistic defaults; keyword arguments override them."""

    def _build(changes: Sequence[ReceiptChange], **overrides: Any) -> dict[str, Any]:
        target = overrides.pop("manifest", manifest)
        arguments: dict[str, Any] = {
            "receipt_id": "3f0b7d52-8a61-4c9e-b2d4-7e15a9c08f63",
            "issued_at": ISSUED_AT,
            "manifest": target,
            "manifest_seq": 4,
            "manifest_sha256": canonical_sha256(target),
            "subject": SUBJECT,
            "language": "fr",
            "collection_method": "Centre de préférences du site, case cochée par le client",
            "channel": "privacy_center",
            "changes": changes,
        }
        arguments.update(overrides)
        return build_receipt(**arguments)

    return _build
