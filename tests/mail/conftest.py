"""Mail tests: a real SMTP server on loopback, the settable clock, fictional recipients."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from faker import Faker

from confiance.config import Settings
from confiance.mail import delivery
from confiance.runtime import Runtime
from tests.mail.smtp import SmtpServer, smtp
from tests.support import ManualClock

__all__ = ["ManualClock", "smtp"]

#: No jitter: a test can say when the next attempt is due.
POLICY = delivery.DeliveryPolicy(
    retry_delays=(30.0, 120.0, 600.0), max_attempts=4, jitter=0.0, concurrency=1
)


@pytest.fixture
def address() -> str:
    """A fictional customer's address, on an ``.example`` domain."""
    fake = Faker("fr_FR")
    return f"{fake.user_name()}@maison.example"


@pytest.fixture
def mail_settings(runtime: Runtime, smtp: SmtpServer) -> Settings:
    return smtp.configure(runtime.settings, sender="Maison Exemple <contact@maison.example>")


@pytest.fixture
def deliver(runtime: Runtime, mail_settings: Settings) -> Callable[..., delivery.DeliveryReport]:
    def run(**kwargs: object) -> delivery.DeliveryReport:
        options: dict[str, object] = {"settings": mail_settings, "policy": POLICY} | kwargs
        return delivery.deliver_due(runtime.db, keys=runtime.keys, **options)  # type: ignore[arg-type]

    return run
