"""The FastAPI application factory. Nothing is built at import; ``create_app`` is called by uvicorn."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from pathlib import Path

import structlog
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy import text

import riskdesk
from riskdesk.bootstrap import Container, build_container, freeze_start_up_objects
from riskdesk.web import errors
from riskdesk.web.middleware import BodySizeLimitMiddleware, RequestIdMiddleware

log = structlog.get_logger("riskdesk.web")
DELIVERY_ROUND = 20  # notifications per round of the web app's loop, so a shutdown waits for few sends


async def _deliver_notifications(container: Container, interval: float, stop: asyncio.Event) -> None:
    """The notification deliverer inside the web process (RISKDESK_NOTIFICATIONS_INTERVAL_SECONDS > 0)."""
    while not stop.is_set():
        try:
            report = await asyncio.to_thread(container.deliver_notifications, limit=DELIVERY_ROUND)
        except Exception:  # the database may be away for a moment: log, and try again next round
            log.exception("notifications.round_failed")
        else:
            if report.claimed == DELIVERY_ROUND:
                continue
        with suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=interval)


def create_app(container: Container | None = None) -> FastAPI:
    container = container or build_container()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        stop = asyncio.Event()
        interval = container.settings.notifications_interval_seconds
        deliverer = asyncio.create_task(_deliver_notifications(container, interval, stop)) if interval > 0 else None
        yield
        stop.set()
        if deliverer is not None:
            await deliverer  # ends after the round in flight, if any
        container.dispose()

    app = FastAPI(
        title="riskdesk",
        version=riskdesk.__version__,
        description="The desk of a company's risk-control unit. Every route needs `Authorization: Bearer <token>`"
        " except `/healthz`; errors are `{error, message, details}`.",
        openapi_url="/api/openapi.json",
        docs_url="/api/docs",
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.container = container
    app.add_middleware(
        BodySizeLimitMiddleware,
        max_body_bytes=container.settings.max_body_bytes,
        max_upload_bytes=container.settings.max_upload_bytes,
    )
    app.add_middleware(RequestIdMiddleware)
    errors.install(app)

    from riskdesk.audit import api as audit_api
    from riskdesk.audit import pages as audit_pages
    from riskdesk.comms import api as comms_api
    from riskdesk.comms import pages as comms_pages
    from riskdesk.credit import api as credit_api
    from riskdesk.credit import pages as credit_pages
    from riskdesk.customers import api as customers_api
    from riskdesk.customers import pages as customers_pages
    from riskdesk.financials import api as financials_api
    from riskdesk.financials import pages as financials_pages
    from riskdesk.monitoring import api as monitoring_api
    from riskdesk.monitoring import pages as monitoring_pages
    from riskdesk.scoring import api as scoring_api
    from riskdesk.security import api as security_api
    from riskdesk.security import pages as security_pages
    from riskdesk.verification import api as verification_api
    from riskdesk.verification import pages as verification_pages

    for module in (
        customers_api,
        security_api,
        audit_api,
        verification_api,
        financials_api,
        credit_api,
        scoring_api,
        monitoring_api,
        comms_api,
        security_pages,
        customers_pages,
        audit_pages,
        verification_pages,
        financials_pages,
        credit_pages,
        monitoring_pages,
        comms_pages,
    ):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=str(Path(__file__).parent / "static")), name="static")

    @app.get("/healthz", tags=["health"])
    def healthz() -> JSONResponse:
        """Liveness and database reachability; needs no authentication."""
        try:
            with container.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except Exception as exc:  # any driver error means "not ready"; the message says which
            return JSONResponse({"status": "unavailable", "database": str(exc.__class__.__name__)}, status_code=503)
        return JSONResponse({"status": "ok", "version": riskdesk.__version__, "database": "ok"})

    return app


def app_from_env() -> FastAPI:
    """uvicorn factory entry point: ``uvicorn riskdesk.web.app:app_from_env --factory`` — a server process of its own,
    whose garbage collector is tuned for the long run once the app is built."""
    app = create_app()
    freeze_start_up_objects()
    return app
