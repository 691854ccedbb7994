"""Screenshots of the main pages, for docs/screenshots/ and the README.

Runs ``confiance demo`` (a fresh installation in a temporary directory, served on a free
port), signs a fictional customer in to the privacy center with the code the demo writes to
its mail folder, signs the demo's DPO in to the console with its TOTP secret, and saves the
pages as PNG files. Needs Debian's Chromium (``/usr/bin/chromium``) and the ``playwright``
package (the test extras).

    python scripts/screenshots.py [--out docs/screenshots]
"""

from __future__ import annotations

import argparse
import email
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from email import policy
from pathlib import Path
from typing import Any

import httpx
import pyotp
from playwright.sync_api import sync_playwright

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def newest_code(mail_dir: Path, address: str, after: float) -> str:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        for path in sorted(mail_dir.glob("*.eml"), key=lambda p: p.stat().st_mtime, reverse=True):
            if path.stat().st_mtime < after:
                continue
            message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
            if message["To"] == address and "code" in message["Subject"].lower():
                body = message.get_body(("plain",))
                found = re.search(r"\b(\d{6})\b", body.get_content() if body else "")
                if found:
                    return found.group(1)
        time.sleep(0.3)
    raise SystemExit("no sign-in code arrived in the demo's mail folder")


def a_customer_address(data_dir: Path) -> str:
    from confiance.actors import Actor
    from confiance.config import Settings
    from confiance.demo import service as demo_service
    from confiance.runtime import Runtime

    runtime = Runtime.open(Settings(data_dir=data_dir))
    try:
        customer = demo_service.some_customer(runtime)
        assert customer is not None
        actor = Actor.operator("screenshots")
        with runtime.db.transaction() as session:
            values = runtime.vault.subject_values(
                session, actor=actor, customer_id=customer, reason="documentation screenshots"
            )
        return str(values["email"])
    finally:
        runtime.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs/screenshots"))
    parser.add_argument("--customers", type=int, default=800)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

    with tempfile.TemporaryDirectory(prefix="confiance-shots-") as tmp:
        data_dir = Path(tmp) / "data"
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("CONFIANCE__")}
        env["CONFIANCE__DATA_DIR"] = str(data_dir)
        env["COLUMNS"] = "300"
        demo = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "confiance",
                "demo",
                "--customers",
                str(args.customers),
                "--port",
                str(port),
            ],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        base = f"http://127.0.0.1:{port}"
        output = []
        try:
            assert demo.stdout is not None
            for line in demo.stdout:
                output.append(line)
                if "Confiance demo:" in line:
                    break
            text = "".join(output)
            password = re.search(r"password (\S+)", text)
            secret = re.search(r"TOTP secret (\S+)", text)
            if not (password and secret):
                raise SystemExit("the demo did not print its DPO account:\n" + text)
            for _ in range(300):
                try:
                    httpx.get(base + "/health", timeout=1)
                    break
                except httpx.TransportError:
                    time.sleep(0.1)
            address = a_customer_address(data_dir)
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path="/usr/bin/chromium", args=FLAGS
                )
                shoot(
                    browser,
                    base,
                    args.out,
                    data_dir / "mail",
                    address,
                    password.group(1),
                    secret.group(1),
                )
                browser.close()
        finally:
            demo.terminate()
            demo.wait(timeout=30)
    print(f"screenshots written to {args.out}")


def shoot(
    browser: Any, base: str, out: Path, mail_dir: Path, address: str, password: str, secret: str
) -> None:
    customer = browser.new_context(locale="fr-FR", viewport={"width": 1280, "height": 900})
    page = customer.new_page()
    page.goto(base + "/privacy")
    page.screenshot(path=str(out / "privacy-sign-in.png"))
    asked = time.time() - 1
    page.locator("input[name=email]").fill(address)
    page.locator("form[action='/privacy/sign-in'] button[type=submit]").click()
    page.locator("input[name=code]").fill(newest_code(mail_dir, address, asked))
    page.locator("form[action='/privacy/code'] button[type=submit]").click()
    for path, name in (
        ("/privacy/me", "privacy-my-data"),
        ("/privacy/consents", "privacy-consents"),
        ("/privacy/rights", "privacy-rights"),
        ("/privacy/rights/erase", "privacy-erase"),
    ):
        page.goto(base + path)
        page.screenshot(path=str(out / f"{name}.png"), full_page=True)
    customer.close()

    staff = browser.new_context(locale="en-GB", viewport={"width": 1280, "height": 900})
    desk = staff.new_page()
    desk.goto(base + "/console/login")
    desk.screenshot(path=str(out / "console-login.png"))
    desk.locator("input[name=email]").fill("dpo@maison-exemple.example")
    desk.locator("input[name=password]").fill(password)
    desk.locator("form[action='/console/login'] button[type=submit]").click()
    desk.locator("input[name=code]").fill(pyotp.TOTP(secret).now())
    desk.locator("form[action='/console/totp'] button[type=submit]").click()
    for path, name in (
        ("/console", "console-home"),
        ("/console/requests", "console-requests"),
        ("/console/analytics", "console-analytics"),
        ("/console/data-map", "console-data-map"),
        ("/console/audit", "console-audit"),
    ):
        desk.goto(base + path)
        desk.screenshot(path=str(out / f"{name}.png"), full_page=True)
    desk.goto(base + "/console/requests")
    desk.locator("a", has_text=re.compile("R-")).first.click()
    desk.screenshot(path=str(out / "console-request.png"), full_page=True)
    staff.close()


if __name__ == "__main__":
    main()
