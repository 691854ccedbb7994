"""The privacy center by keyboard alone: a skip link first, then the form, focus visible."""

from __future__ import annotations

from typing import Any

from tests.browser.conftest import LiveServer


def test_sign_in_by_keyboard_with_a_visible_focus(live: LiveServer, page: Any) -> None:
    page.goto(live.url + "/privacy")
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.getAttribute('href')")
    assert focused == "#main"  # the skip link comes first
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline not in ("none", "")
    for _ in range(40):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.name") == "email":
            break
    else:
        raise AssertionError("the e-mail field cannot be reached with Tab")
    page.keyboard.type("clavier.seul@courriel.example")
    page.keyboard.press("Enter")
    page.wait_for_url("**/privacy/code")
    assert page.locator("input[name=code]").count() == 1
