"""``confiance serve`` keeps customer ids out of its log unless access logging is asked for."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import httpx
import pytest

from tests.support import cli, start_server


def _serve_once(env: dict[str, str], path: str) -> str:
    """Start the server, request ``path`` once, stop it; return what it printed."""
    server, base = start_server(env)
    try:
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
    assert cli(env, "init").returncode == 0
    customer = str(uuid.uuid4())
    output = _serve_once(env, f"/v1/customers/{customer}/consents")
    assert "Application startup complete" in output  # the log itself is there
    assert (customer in output) is access_log
