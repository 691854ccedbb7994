"""Property test: whatever valid names and orders a caller sends, the vault gives back exactly
what it accepted, for the fields the purpose needs."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from confiance.actors import Actor
from confiance.runtime import Runtime
from tests.support import manifest_of

NAMES = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=60
).filter(lambda s: s.strip() != "")
ORDERS = st.lists(
    st.fixed_dictionaries(
        {
            "order_id": st.text(min_size=1, max_size=12),
            "total_eur": st.floats(min_value=0, max_value=10_000, allow_nan=False),
            "items": st.integers(min_value=1, max_value=50),
        }
    ),
    max_size=5,
)
SETTINGS = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


# One backend is enough for a property; both run the example-based tests.
@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
@SETTINGS
@given(first=NAMES, last=NAMES, orders=ORDERS)
def test_what_is_accepted_is_what_is_read_back(
    runtime: Runtime, operator: Actor, make_record: Any, first: str, last: str, orders: list[Any]
) -> None:
    manifest = manifest_of(runtime)
    record = make_record() | {"first_name": first, "last_name": last, "orders": orders}
    # Every generated value is valid: the whole record must be accepted.
    with runtime.db.transaction() as s:
        created = runtime.vault.collect(
            s, actor=operator, purposes=make_record.purposes, values=record
        )
    expected = {k: manifest.fields_by_name[k].normalize(v) for k, v in record.items()}
    with runtime.db.transaction() as s:
        view = runtime.vault.read(
            s, actor=operator, purpose="order_fulfilment", customer_id=created.id
        )
    needed = manifest.purposes_by_key["order_fulfilment"].fields
    assert view.values == {k: v for k, v in expected.items() if k in needed}
