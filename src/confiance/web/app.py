"""The ASGI application factory."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlalchemy import select

from confiance import __version__, overview
from confiance.config import Settings
from confiance.consent import routes as consent_routes
from confiance.consent.fastlane import ConsentFastLane
from confiance.dp import routes as dp_routes
from confiance.errors import ConfianceError
from confiance.keys import service as keys_service
from confiance.mail.delivery import MailWorker
from confiance.pii import routes as pii_routes
from confiance.portal import pages as portal_pages
from confiance.rights import routes as rights_routes
from confiance.runtime import Runtime
from confiance.staff import pages as staff_pages
from confiance.vault import routes as vault_routes
from confiance.web import pages, problems
from confiance.web.deps import Rt
from confiance.web.security import SecurityHeaders
from confiance.webhooks import routes as webhooks_routes
from confiance.webhooks.worker import BackgroundWorker

__all__ = ["create_app", "create_app_from_env"]

log = logging.getLogger(__name__)
templates = Jinja2Templates(directory=Path(__file__).with_name("templates"))


def create_app(
    runtime: Runtime, *, own_runtime: bool = False, deliver_webhooks: bool = False
) -> FastAPI:
    """The API. ``deliver_webhooks`` runs the outbox delivery workers (webhooks and mail)
    inside the server (what ``confiance serve`` does); tests and embedding applications may
    run them elsewhere."""

    def checkpoint() -> None:
        with runtime.db.transaction() as session:
            runtime.audit.checkpoint(session)

    async def checkpoint_periodically() -> None:
        while True:
            await asyncio.sleep(runtime.settings.audit.checkpoint_interval_seconds)
            try:
                await asyncio.to_thread(checkpoint)
            except ConfianceError as exc:
                log.error("periodic audit checkpoint failed: %s", exc.code)

    def close_unverified() -> None:
        older = timedelta(days=runtime.settings.rights.unverified_days)
        while True:
            with runtime.db.transaction() as session:
                if not runtime.rights.close_unverified(session, older_than=older):
                    return

    def rotate_after_erasures() -> None:
        hours = runtime.settings.crypto.rotate_after_erasures_hours
        if hours <= 0:
            return
        report = keys_service.rotate_if_erasures_wait(
            runtime.db,
            keys=runtime.keys,
            audit=runtime.audit,
            after=timedelta(hours=hours),
            grace_seconds=runtime.settings.crypto.rotation_grace_seconds,
        )
        if report is not None:
            log.info("key-encryption key rotated after erasures (%d data keys)", report.rewrapped)

    last_retention: list[float] = [0.0]

    def retention_daily() -> None:
        if time.monotonic() - last_retention[0] < 24 * 3600:
            return
        last_retention[0] = time.monotonic()
        report = runtime.retention.run(runtime.db)
        log.info(
            "retention: %d values deleted, %d anonymised, %d customers erased",
            report.values_deleted,
            report.values_anonymised,
            report.customers_erased,
        )

    async def expire_consents_periodically() -> None:
        while True:
            await asyncio.sleep(3600)
            try:
                while await asyncio.to_thread(runtime.consent.expire_due, runtime.db, limit=5_000):
                    pass
                await asyncio.to_thread(close_unverified)
                await asyncio.to_thread(retention_daily)
                await asyncio.to_thread(rotate_after_erasures)
            except ConfianceError as exc:
                log.error("consent expiry sweep failed: %s", exc.code)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        task = asyncio.create_task(checkpoint_periodically())
        sweep = asyncio.create_task(expire_consents_periodically())
        worker = BackgroundWorker(runtime.db, keys=runtime.keys) if deliver_webhooks else None
        if worker is not None:
            worker.start()
        mailer = (
            MailWorker(runtime.db, keys=runtime.keys, settings=runtime.settings)
            if deliver_webhooks
            else None
        )
        if mailer is not None:
            mailer.start()
        try:
            yield
        finally:
            if worker is not None:
                await asyncio.to_thread(worker.stop)
            if mailer is not None:
                await asyncio.to_thread(mailer.stop)
            task.cancel()
            sweep.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            with contextlib.suppress(asyncio.CancelledError):
                await sweep
            checkpoint()
            _close_fast_lane(app)
            if own_runtime:
                runtime.close()

    app = FastAPI(
        title="Confiance",
        version=__version__,
        summary="Customer personal data behind consent, encryption and a tamper-evident audit.",
        # The interactive docs pages load scripts from a CDN; Confiance serves none of that.
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.runtime = runtime
    problems.install(app)
    app.add_middleware(ConsentFastLane, runtime=runtime)
    app.add_middleware(SecurityHeaders)
    app.mount("/static", StaticFiles(directory=pages.STATIC), name="static")
    app.include_router(vault_routes.router)
    app.include_router(consent_routes.router)
    app.include_router(consent_routes.well_known)
    app.include_router(webhooks_routes.router)
    app.include_router(rights_routes.router)
    app.include_router(portal_pages.router)
    app.include_router(staff_pages.router)
    app.include_router(dp_routes.router)
    app.include_router(pii_routes.router)

    @app.get("/health", tags=["service"])
    async def health(rt: Rt) -> dict[str, str]:
        with rt.db.read() as session:
            session.execute(select(1))
        return {"status": "ok", "version": __version__}

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def home(request: Request, rt: Rt) -> HTMLResponse:
        with rt.db.read() as session:
            info = overview.summary(session)
        return templates.TemplateResponse(
            request,
            "home.html",
            {"version": __version__, "info": info, "manifest": info.manifest},
        )

    return app


def _close_fast_lane(app: FastAPI) -> None:
    """Release the decision lane's own database connection (PostgreSQL) at shutdown."""
    node: object | None = app.middleware_stack
    while node is not None:
        if isinstance(node, ConsentFastLane):
            node.close()
            return
        node = getattr(node, "app", None)


def create_app_from_env() -> FastAPI:
    """Factory used by ``confiance serve`` workers (settings from the environment)."""
    runtime = Runtime.open(Settings())
    runtime.require_erasures_applied()
    return create_app(runtime, own_runtime=True, deliver_webhooks=True)
