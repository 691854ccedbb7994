"""The browser harness itself: the server answers, the page's own CSP holds, axe runs."""

from __future__ import annotations

from typing import Any

from tests.browser.conftest import LiveServer, axe_violations


def test_home_page_in_a_real_browser(live: LiveServer, page: Any, axe_script: str) -> None:
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(live.url + "/")
    assert "Confiance" in page.title()
    # Every request the page made went to Confiance itself.
    assert requests and all(url.startswith(live.url) for url in requests)
    assert axe_violations(page, axe_script) == []
