"""A requester's code travels by real e-mail: the outbox, the delivery worker and a local SMTP
server (aiosmtpd), then back to Confiance over HTTP."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import select

from confiance.mail import delivery
from confiance.mail.models import MailMessage
from confiance.runtime import Runtime
from confiance.web.app import create_app
from tests.mail.smtp import SmtpServer, smtp  # noqa: F401 (the fixture)


def test_the_code_arrives_by_smtp_and_verifies_the_request(
    runtime: Runtime,
    smtp: SmtpServer,  # noqa: F811 (the fixture imported above)
) -> None:
    settings = smtp.configure(runtime.settings)
    with TestClient(create_app(runtime)) as client:
        answer = client.post(
            "/v1/rights/requests",
            json={"kind": "access", "email": "ines.morel@courriel.example", "language": "fr"},
        )
        assert answer.status_code == 202
        report = delivery.deliver_due(runtime.db, keys=runtime.keys, settings=settings)
        assert report.sent == 1
        [message] = smtp.wait_for(1)
        assert message["To"] == "ines.morel@courriel.example"
        body = message.get_body(("plain",))
        assert body is not None
        text = body.get_content()
        assert answer.json()["reference"] in text
        match = re.search(r"\b(\d{6})\b", text)
        assert match is not None
        verified = client.post(
            f"/v1/rights/requests/{answer.json()['id']}/verify", json={"code": match.group(1)}
        )
        assert verified.status_code == 200, verified.text
        assert verified.json()["status"] == "verified"
    # The sent message left nothing readable in the outbox.
    with runtime.db.transaction() as session:
        rows = session.execute(select(MailMessage).where(MailMessage.state == "sent")).scalars()
        assert all(r.recipient_sealed is None and r.message_sealed is None for r in rows)
