"""Production shape: several API workers on PostgreSQL keep one linear audit chain."""

from __future__ import annotations

import json
import os
import secrets
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from sqlalchemy import create_engine, text

from confiance.demo.generator import CustomerFactory
from tests.conftest import PG_URL
from tests.support import cli, start_server

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "maison-exemple.yaml"


@pytest.fixture
def pg_env(tmp_path: Path) -> dict[str, str]:
    if not PG_URL:
        pytest.skip("PostgreSQL not configured: set CONFIANCE_TEST_DATABASE_URL")
    schema = f"confiance_serve_{secrets.token_hex(4)}"
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONFIANCE__")}
    separator = "&" if "?" in PG_URL else "?"
    env["CONFIANCE__DATABASE__URL"] = (
        f"{PG_URL}{separator}options={quote('-csearch_path=' + schema)}"
    )
    env["CONFIANCE__DATA_DIR"] = str(tmp_path / "data")
    yield env
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


def test_two_workers_on_postgresql_serve_and_keep_one_chain(pg_env: dict[str, str]) -> None:
    assert cli(pg_env, "init").returncode == 0
    assert cli(pg_env, "manifest", "load", str(EXAMPLE)).returncode == 0
    purposes = "order_fulfilment,invoicing,fraud_prevention,customer_support,loyalty_programme"
    created = cli(pg_env, "apikey", "create", "--purposes", purposes)
    assert created.returncode == 0, created.stderr
    token = created.stdout.strip().splitlines()[-1]
    assert token.startswith("cfk_")

    server, base = start_server(pg_env, "--workers", "2")
    headers = {"Authorization": f"Bearer {token}"}
    factory = CustomerFactory(seed=11)
    keep = {
        "first_name",
        "last_name",
        "email",
        "phone",
        "street_address",
        "postal_code",
        "city",
        "orders",
    }
    records = [{k: v for k, v in factory.customer().items() if k in keep} for _ in range(40)]
    try:

        def create_and_read(record: dict[str, object]) -> str:
            with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
                made = client.post(
                    "/v1/customers", json={"purposes": ["order_fulfilment"], "values": record}
                )
                assert made.status_code == 201, made.text
                customer_id = made.json()["id"]
                read = client.get(
                    f"/v1/customers/{customer_id}", params={"purpose": "order_fulfilment"}
                )
                assert read.status_code == 200, read.text
                assert read.json()["values"]["email"] == record["email"]
                return str(customer_id)

        with ThreadPoolExecutor(max_workers=8) as pool:
            ids = list(pool.map(create_and_read, records))
        assert len(set(ids)) == len(records)
    finally:
        server.terminate()
        server.communicate(timeout=30)

    verified = cli(pg_env, "audit", "verify", "--json")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert '"entries"' in verified.stdout

    report = json.loads(verified.stdout.strip().splitlines()[-1])
    # manifest load + API key + one collection and one read per customer, at least.
    assert report["entries"] >= 2 + 2 * len(records)
