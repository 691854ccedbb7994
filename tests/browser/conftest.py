"""A real browser on a real server: Debian's Chromium driven by Playwright, axe-core injected.

What the browser tests need is installed here, by the project, the first time it is missing:

- Chromium from Debian's packages (``apt-get install chromium``, as root), never
  ``playwright install`` (which downloads a browser);
- axe-core from the npm registry, pinned in ``tests/browser/package.json`` and its lock file
  (``npm ci``).

Where that cannot be done (not root, no apt-get or npm), the tests are skipped with the reason.
The server is ``confiance.web.app.create_app`` run by uvicorn in a thread, on a fresh SQLite
installation with the example manifest, mail going to a local SMTP server (aiosmtpd).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from confiance.config import Settings
from confiance.crypto import Keyring
from confiance.db import Database
from confiance.db.models import Base
from confiance.runtime import Runtime
from tests.mail.smtp import SmtpServer, smtp_server
from tests.support import free_port, install

HERE = Path(__file__).resolve().parent
CHROMIUM = Path("/usr/bin/chromium")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
AXE = HERE / "node_modules" / "axe-core" / "axe.min.js"


def _run(command: list[str], **kw: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, check=False, **kw)


@pytest.fixture(scope="session")
def chromium() -> Path:
    if CHROMIUM.exists():
        return CHROMIUM
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        pytest.skip("Chromium is not installed and cannot be here (needs root and apt-get)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    _run(["apt-get", "update"], env=env, timeout=600)
    done = _run(
        ["apt-get", "install", "-y", "--no-install-recommends", "chromium"], env=env, timeout=1200
    )
    if done.returncode != 0 or not CHROMIUM.exists():
        pytest.skip(f"apt-get could not install chromium: {done.stderr.strip()[-300:]}")
    return CHROMIUM


@pytest.fixture(scope="session")
def axe_script() -> str:
    if not AXE.exists():
        if shutil.which("npm") is None:
            pytest.skip("axe-core is not installed and npm is not available to install it")
        done = _run(["npm", "ci", "--no-audit", "--no-fund"], cwd=HERE, timeout=600)
        if done.returncode != 0 or not AXE.exists():
            pytest.skip(f"npm could not install axe-core: {done.stderr.strip()[-300:]}")
    return AXE.read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def browser(chromium: Path) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(chromium), args=FLAGS)
        yield launched
        launched.close()


@dataclass
class LiveServer:
    url: str
    runtime: Runtime
    smtp: SmtpServer
    settings: Settings

    def deliver_mail(self) -> int:
        """Send what the outbox holds to the local SMTP server now."""
        from confiance.mail import delivery

        return delivery.deliver_due(
            self.runtime.db, keys=self.runtime.keys, settings=self.settings
        ).sent


@pytest.fixture
def live(tmp_path: Path, keyring: Keyring) -> Iterator[LiveServer]:
    import uvicorn

    from confiance.web.app import create_app

    with smtp_server() as smtp:
        settings = smtp.configure(Settings(data_dir=tmp_path / "data"))
        settings.data_dir.mkdir(parents=True)
        db = Database(f"sqlite:///{tmp_path / 'data' / 'confiance.db'}")
        Base.metadata.create_all(db.engine)
        runtime = install(db, settings, keyring)
        port = free_port()
        server = uvicorn.Server(
            uvicorn.Config(create_app(runtime), host="127.0.0.1", port=port, log_level="warning")
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 30
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.05)
        assert server.started, "the test server did not start"
        try:
            yield LiveServer(f"http://127.0.0.1:{port}", runtime, smtp, settings)
        finally:
            server.should_exit = True
            thread.join(15)
            db.dispose()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(locale="fr-FR")
    tab = context.new_page()
    yield tab
    context.close()


def axe_violations(page: Any, script: str) -> list[dict[str, Any]]:
    """Serious and critical axe-core violations on the page as it is now. The script is
    evaluated through the DevTools protocol, which the page's CSP does not govern."""
    page.evaluate(script)
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [
        {
            "id": v["id"],
            "impact": v["impact"],
            "help": v["help"],
            "nodes": [n["target"] for n in v["nodes"]][:5],
        }
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]
