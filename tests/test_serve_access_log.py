"""``confiance serve`` keeps customer ids out of its log unless access logging is asked for."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest

from tests.test_serve_postgres import _cli, _free_port


def _serve_once(env: dict[str, str], path: str) -> str:
    """Start the server, request ``path`` once, stop it; return what it printed."""
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "confiance", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert server.poll() is None, server.stdout.read() if server.stdout else ""
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.2)
        assert httpx.get(f"{base}{path}", timeout=10).status_code == 401
    finally:
        server.terminate()
        output, _ = server.communicate(timeout=30)
    return output


@pytest.mark.parametrize("access_log", [False, True])
def test_request_paths_are_logged_only_when_asked(tmp_path: Path, access_log: bool) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONFIANCE__")}
    env["CONFIANCE__DATA_DIR"] = str(tmp_path / "data")
    if access_log:
        env["CONFIANCE__SERVER__ACCESS_LOG"] = "true"
    assert _cli(env, "init").returncode == 0
    customer = str(uuid.uuid4())
    output = _serve_once(env, f"/v1/customers/{customer}/consents")
    assert "Application startup complete" in output  # the log itself is there
    assert (customer in output) is access_log
