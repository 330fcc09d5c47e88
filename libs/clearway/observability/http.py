"""The same observability for the HTTP services (intake, the government simulator): server
spans, request figures per route, and /metrics, /healthz, /readyz beside their own routes."""

from __future__ import annotations

import time
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from opentelemetry import trace
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

from clearway.observability.health import ReadyCheck, metrics_exposition, readiness
from clearway.observability.metrics import HTTP_REQUEST_DURATION, HTTP_REQUESTS

# Probes and scrapes are not traffic: no span, no request figure.
OBSERVABILITY_PATHS = frozenset({"/metrics", "/healthz", "/readyz"})


def instrument_http_service(app: FastAPI, service: str, ready: ReadyCheck) -> None:
    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        body, content_type = metrics_exposition()
        return Response(body, media_type=content_type)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", include_in_schema=False)
    async def readyz() -> JSONResponse:
        status, body = readiness(await ready())
        return JSONResponse(body, status_code=status)

    @app.middleware("http")
    async def count_requests(request: Request, call_next: Any) -> Any:
        if request.url.path in OBSERVABILITY_PATHS:
            return await call_next(request)
        started = time.monotonic()
        status = 500
        try:
            response = await call_next(request)
            status = response.status_code
            return response
        finally:
            # The route's template (/v1/invoices/{invoice_id}), never the id itself.
            route = getattr(request.scope.get("route"), "path", "unmatched")
            HTTP_REQUESTS.labels(service, request.method, route, str(status)).inc()
            HTTP_REQUEST_DURATION.labels(service, request.method, route).observe(
                time.monotonic() - started
            )

    FastAPIInstrumentor.instrument_app(
        app,
        tracer_provider=trace.get_tracer_provider(),
        excluded_urls=",".join(sorted(OBSERVABILITY_PATHS)),
    )
