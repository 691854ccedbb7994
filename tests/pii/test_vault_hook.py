"""Free text a customer wrote is scanned on its way into the vault: flagged in the audit log
(kinds and counts, never values) or redacted before it is sealed, as configured."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from confiance.actors import Actor
from confiance.audit.models import AuditEntry
from confiance.config import PiiSettings
from confiance.runtime import Runtime

OPERATOR = Actor.operator("test")
TICKET = [
    {
        "subject": "Remboursement",
        "body": "Bonjour, remboursez sur mon IBAN FR76 3000 6000 0112 3456 7890 189, "
        "ou appelez-moi au 06 12 34 56 78.",
    }
]


def _collect(runtime: Runtime) -> Any:
    with runtime.unit(OPERATOR) as s:
        customer = runtime.vault.collect(
            s,
            actor=OPERATOR,
            purposes=["customer_support"],
            values={"email": "ticket@courriel.example", "support_tickets": TICKET},
        ).id
    with runtime.unit(OPERATOR) as s:
        view = runtime.vault.read(
            s, actor=OPERATOR, purpose="customer_support", customer_id=customer
        )
        detail = s.execute(
            select(AuditEntry.detail).where(
                AuditEntry.action == "vault.collect", AuditEntry.customer_pid == str(customer)
            )
        ).scalar_one()
    return view.values["support_tickets"], detail


def test_flagged_by_default_and_kept_as_written(runtime: Runtime) -> None:
    stored, detail = _collect(runtime)
    assert stored == TICKET
    assert detail is not None and "support_tickets" in detail
    assert "iban:1" in detail and "phone:1" in detail
    assert "3000 6000" not in detail and "06 12" not in detail


def test_redacted_when_configured(runtime: Runtime) -> None:
    from confiance.runtime import _free_text

    runtime.vault.free_text = _free_text(
        runtime.settings.model_copy(update={"pii": PiiSettings(free_text="redact")})
    )
    stored, _ = _collect(runtime)
    body = stored[0]["body"]
    assert "FR76" not in body and "06 12 34 56 78" not in body
    assert stored[0]["subject"] == "Remboursement"
