from __future__ import annotations

import uuid
from typing import Any

import pytest

from confiance.actors import Actor
from confiance.runtime import Runtime


@pytest.fixture
def new_customer(runtime: Runtime, operator: Actor, make_record: Any) -> Any:
    """Collect a fictional customer and return their id."""

    def make() -> uuid.UUID:
        with runtime.db.transaction() as s:
            return runtime.vault.collect(
                s, actor=operator, purposes=make_record.purposes, values=make_record()
            ).id

    return make


@pytest.fixture
def customer(new_customer: Any) -> uuid.UUID:
    return new_customer()  # type: ignore[no-any-return]
