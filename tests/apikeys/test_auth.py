"""API keys: hashed at rest, limited to purposes and scopes, revocable."""

from __future__ import annotations

import time

from fastapi.testclient import TestClient
from sqlalchemy import select

from confiance.actors import Actor
from confiance.apikeys import service as apikeys
from confiance.apikeys.models import ApiKey
from confiance.runtime import Runtime
from confiance.web.app import create_app


def test_only_a_digest_is_stored_and_revocation_takes_effect_within_the_cache_time(
    runtime: Runtime,
) -> None:
    runtime.auth_cache.ttl = 0.3
    with runtime.db.transaction() as s:
        info, token = apikeys.create(
            s,
            name="crm",
            purposes=["order_fulfilment"],
            scopes=["consent.read"],
            actor=Actor.operator("t"),
            audit=runtime.audit,
        )
        stored = s.execute(select(ApiKey)).scalar_one()
    secret = token.split("_", 2)[2]
    assert secret.encode() not in stored.secret_hash and secret not in repr(stored.__dict__)
    headers = {"Authorization": f"Bearer {token}"}
    with TestClient(create_app(runtime)) as client:
        assert client.get("/v1/consents/daily", headers=headers).status_code == 200
        with runtime.db.transaction() as s:
            apikeys.revoke(s, key_id=info.id, actor=Actor.operator("t"), audit=runtime.audit)
        time.sleep(0.35)
        refused = client.get("/v1/consents/daily", headers=headers)
        assert refused.status_code == 401
        assert refused.json()["code"] == "invalid-api-key"
        forged = client.get(
            "/v1/consents/daily", headers={"Authorization": f"Bearer {token[:-2]}xx"}
        )
        assert forged.status_code == 401
