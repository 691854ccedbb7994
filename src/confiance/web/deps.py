"""Request dependencies shared by the routers: the runtime and the calling actor."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from confiance.actors import Actor
from confiance.apikeys import service as apikeys
from confiance.apikeys.errors import InvalidApiKey
from confiance.runtime import Runtime

__all__ = ["ApiCaller", "Rt", "api_caller", "get_runtime"]

_bearer = HTTPBearer(auto_error=False, description="A service API key: cfk_<id>_<secret>")


async def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


Rt = Annotated[Runtime, Depends(get_runtime)]


async def api_caller(
    runtime: Rt,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Actor:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise InvalidApiKey()
    token = credentials.credentials
    actor = runtime.auth_cache.get(token)
    if actor is not None:
        return actor
    # One indexed read, done on the event loop: cheaper than a hop to the thread pool.
    with runtime.db.read() as session:
        actor = apikeys.authenticate(session, token=token)
    runtime.auth_cache.put(token, actor)
    return actor


ApiCaller = Annotated[Actor, Depends(api_caller)]
