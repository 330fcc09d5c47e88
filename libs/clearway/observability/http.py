"""The same observability for the HTTP services (intake, the government simulator): server
spans, request figures per route, and /metrics, /healthz, /readyz beside their own routes."""

from __future__ import annotations

import time
from typing import Any

import uvicorn
from fastapi import FastAPI, Response
from fastapi.responses import JSONResponse
from opentelemetry import trace
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.trace import TracerProvider
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from clearway.observability.health import ReadyCheck, metrics_exposition, readiness
from clearway.observability.metrics import HTTP_REQUEST_DURATION, HTTP_REQUESTS

# Probes and scrapes are not traffic: no span, no request figure.
OBSERVABILITY_PATHS = frozenset({"/metrics", "/healthz", "/readyz"})


class _CountRequests:
    """Each request's figures, by the route's template (/v1/invoices/{invoice_id}, never the id
    itself), which the router leaves in the scope. A plain ASGI middleware: Starlette's
    request/response one wraps every request in tasks and streams, costing a cheap request
    more CPU than its handler (make bench)."""

    def __init__(self, app: ASGIApp, service: str) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in OBSERVABILITY_PATHS:
            await self.app(scope, receive, send)
            return
        started = time.monotonic()
        status = 500  # what a request that raised is answered

        async def send_noting_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_noting_status)
        finally:
            route = getattr(scope.get("route"), "path", "unmatched")
            method = scope["method"]
            HTTP_REQUESTS.labels(self.service, method, route, str(status)).inc()
            HTTP_REQUEST_DURATION.labels(self.service, method, route).observe(
                time.monotonic() - started
            )


def server_config(app: ASGIApp, **options: Any) -> uvicorn.Config:
    """How every Clearway process serves HTTP (uvicorn's options as given): each request starts
    in a context of its own. Without that, a request whose body was large enough for uvicorn to
    stop reading resumes reading from its own task, the connection's reads then run in that
    request's context, and the next request on the connection becomes its child span, in
    another invoice's trace (python/cpython#140947; uvicorn's `reset_contextvars`)."""
    return uvicorn.Config(app, reset_contextvars=True, **options)


def instrument_http_service(
    app: FastAPI,
    service: str,
    ready: ReadyCheck,
    tracer_provider: TracerProvider | None = None,
) -> None:
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

    app.add_middleware(_CountRequests, service=service)

    FastAPIInstrumentor.instrument_app(
        app,
        tracer_provider=tracer_provider or trace.get_tracer_provider(),
        excluded_urls=",".join(sorted(OBSERVABILITY_PATHS)),
        # One server span a request: not one more for each ASGI message it reads and sends,
        # which tell nothing the server span does not and cost more than a cheap request.
        exclude_spans=["receive", "send"],
    )
