"""Fixtures for the audit chain: a signer from the test key ring, a log with a checkpoint file."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from confiance import clock
from confiance.audit import AuditLog
from confiance.crypto import Keyring, Signer


@pytest.fixture
def signer(keyring: Keyring) -> Signer:
    return Signer(keyring.audit_signing_key)


@pytest.fixture
def checkpoint_file(tmp_path: Path) -> Path:
    return tmp_path / "audit-checkpoints.jsonl"


@pytest.fixture
def log(signer: Signer, checkpoint_file: Path) -> AuditLog:
    """A log that signs a checkpoint every 4 entries and copies it to ``checkpoint_file``."""
    return AuditLog(signer, checkpoint_every=4, checkpoint_file=checkpoint_file)


@pytest.fixture
def fixed_clock() -> Iterator[datetime]:
    moment = datetime(2025, 3, 14, 9, 26, 53, 589793, tzinfo=UTC)
    clock.set_clock(lambda: moment)
    yield moment
    clock.set_clock(None)
