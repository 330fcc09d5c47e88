"""intake (the gateway): takes invoices over REST and from the `invoices.intake` topic, checks
the key and the body, records `invoice.created` (which the outbox relay publishes), and serves
invoices, their timelines, the invoices received for the account's companies, and its
companies.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from clearway.config import Settings
from clearway.db import create_pool
from clearway.messaging import OutboxRelay, build_broker
from clearway.observability.health import Checks, service_checks
from clearway.observability.http import instrument_http_service
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from services.intake import (
    companies,
    connections,
    documents,
    invoices,
    received_invoices,
    responses,
    webhooks,
)
from services.intake.auth import RateLimiter
from services.intake.dashboard import install_dashboard
from services.intake.errors import ApiError, install_error_handlers
from services.intake.kafka_intake import register_intake_topic
from services.intake.openapi import install_docs, public_openapi

DESCRIPTION = """\
One JSON invoice in, the country's legal XML filed with its government, every step an event.

Authenticate with `Authorization: Bearer sk_test_…` (sandbox: government simulators) or
`sk_live_…`. Every error is `{"error": {"type", "message", "param", "errors": [...]}}` where
`param` is a JSON pointer to the first offending field and `errors` lists every one.
"""


def create_app(settings: Settings) -> FastAPI:
    broker = build_broker(settings.kafka_bootstrap, client_id="intake")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        pool = await create_pool(
            settings.database_url, application_name="intake", **settings.pool_options()
        )
        relay = OutboxRelay(pool, broker)
        register_intake_topic(broker, pool, relay)
        await broker.start()
        relay.start()
        app.state.pool = pool
        app.state.relay = relay
        app.state.rate_limiter = RateLimiter(settings.api_rate_limit_per_second)
        invoices.warm_validation()
        try:
            yield
        finally:
            await relay.stop()
            await broker.stop()
            await pool.close()

    app = FastAPI(
        title="Clearway",
        version="0.1.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,  # install_docs serves it from the installed Swagger UI, not a CDN
        redoc_url=None,
    )
    install_error_handlers(app)

    @app.middleware("http")
    async def refuse_nul(request: Request, call_next: Any) -> Any:
        # PostgreSQL text cannot hold NUL: a URL naming one is answered here, once, rather than
        # reaching a query as a 500. No resource is named with a NUL (404); every query
        # parameter's pattern excludes it, so there it is a bad parameter (400).
        if "\x00" in request.url.path:
            error = ApiError("not_found", "No resource has a NUL character in its path.")
        elif "%00" in request.url.query:
            error = ApiError("validation_error", "The query string contains a NUL character.")
        else:
            return await call_next(request)
        return JSONResponse(error.body(), status_code=error.status_code)

    @app.middleware("http")
    async def rate_limit_headers(request: Request, call_next: Any) -> Any:
        response = await call_next(request)
        response.headers.update(getattr(request.state, "rate_limit_headers", {}))
        return response

    app.include_router(invoices.router)
    app.include_router(documents.router)
    app.include_router(received_invoices.router)
    app.include_router(responses.router)
    app.include_router(companies.router)
    app.include_router(connections.router)
    app.include_router(webhooks.router)
    install_dashboard(app)

    async def ready() -> Checks:
        return await service_checks(broker, getattr(app.state, "pool", None))

    instrument_http_service(app, "intake", ready)

    install_docs(app)
    app.openapi = lambda: public_openapi(app)  # type: ignore[method-assign]
    return app
