"""One scanner for the whole session: spaCy pipelines take seconds to load."""

from __future__ import annotations

import pytest

from confiance.pii import Scanner, default_scanner


@pytest.fixture(scope="session")
def scanner() -> Scanner:
    """The process-wide scanner (the one the CLI and the API use), models loaded."""
    shared = default_scanner()
    shared.names.warm(["fr", "en"])
    return shared
