"""axe-core on every page of the application, each opened by an audience the authorization
matrix lets in: no serious or critical violation, and no request leaving Confiance."""

from __future__ import annotations

import json
from typing import Any

from confiance.portal.pages import SESSION as PORTAL_COOKIE
from confiance.staff.pages import STAFF_COOKIE
from tests.browser.conftest import LiveServer, axe_violations
from tests.web.test_authorization import (
    MATRIX,
    STAFF_ROLES,
    build_world,
    concrete,
    customer_session,
    staff_session,
)

# Pages that only exist in the middle of a flow (after a form) are reached by the journey test.
FLOW_ONLY = {"/console/totp", "/privacy/code"}
# Files, not pages.
DOWNLOADS = {"/privacy/consents/receipts/{receipt_id}"}


def _pages() -> list[tuple[str, str]]:
    chosen = []
    for (method, path), allowed in sorted(MATRIX.items()):
        if method != "GET" or not path.startswith(("/privacy", "/console", "/")):
            continue
        if path.startswith(("/v1", "/.well-known", "/health")) or path in FLOW_ONLY | DOWNLOADS:
            continue
        for audience in ("customer", "dpo", "admin", "anonymous", *STAFF_ROLES):
            if audience in allowed:
                chosen.append((path, audience))
                break
    return chosen


def test_every_page_passes_axe(live: LiveServer, browser: Any, axe_script: str) -> None:
    world = build_world(live.runtime)
    live.runtime.settings.rights.codes_per_hour = 10_000
    failures: dict[str, Any] = {}
    outside: list[str] = []
    pages = _pages()
    assert len(pages) > 20
    for path, audience in pages:
        context = browser.new_context(locale="fr-FR")
        if audience in STAFF_ROLES:
            token, _ = staff_session(live.runtime, audience)
            context.add_cookies([{"name": STAFF_COOKIE, "value": token, "url": live.url}])
        elif audience == "customer":
            token, _ = customer_session(live.runtime)
            context.add_cookies([{"name": PORTAL_COOKIE, "value": token, "url": live.url}])
        page = context.new_page()
        page.on("request", lambda r: None if r.url.startswith(live.url) else outside.append(r.url))
        response = page.goto(live.url + concrete(path, world))
        assert response is not None and response.status < 400, f"{path} as {audience}"
        found = axe_violations(page, axe_script)
        if found:
            failures[f"{path} as {audience}"] = found
        context.close()
    assert failures == {}, json.dumps(failures, indent=1)
    assert outside == []
