"""The home page: what this installation holds and why, served without any third party."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from confiance.runtime import Runtime
from confiance.web.app import create_app
from tests.support import manifest_of


def test_home_lists_every_purpose_with_basis_and_retention_in_words(runtime: Runtime) -> None:
    manifest = manifest_of(runtime)
    with TestClient(create_app(runtime)) as client:
        page = client.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    html = page.text
    assert manifest.controller.name in html
    rows = re.findall(r"<tr>.*?</tr>", html, flags=re.S)[1:]
    assert len(rows) == len(manifest.purposes)
    for purpose, row in zip(manifest.purposes, rows, strict=True):
        assert purpose.key in row
        assert purpose.legal_basis.value.replace("_", " ") in row
        assert purpose.retention is not None
        assert purpose.retention.period.describe() in row
    # Nothing on the page is loaded from anywhere but Confiance itself.
    assert not re.search(r"""(src|href)=["']https?://""", html)
