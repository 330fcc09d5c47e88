"""The HTTP side every simulated API shares: the guard around each real-contract route
(sandbox scenarios, queued faults, the rate limit), request bodies and bearer credentials."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from http import HTTPStatus
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.routing import APIRoute

from services.govsim.faults import (
    SCENARIO_SLOW_SECONDS,
    FaultKind,
    FaultQueue,
    QueuedFault,
    ScenarioPlays,
)

MAX_DOCUMENT_BYTES = 10 * 1024 * 1024


# --- the guard around every real-contract route --------------------------------------------


class ApiGuard:
    """What runs around each route of a simulated API: sandbox scenarios and queued faults,
    then the rate limit.

    `render_fault` answers an HTTP fault the way the country's gateway would; `admit` returns
    the country's 429 (or None) for a request. A LOST_RESPONSE fault lets the route run and
    then replaces its successful answer with a 504, as a timeout after the server acted would.
    """

    def __init__(
        self,
        *,
        faults: FaultQueue,
        render_fault: Callable[[QueuedFault], Response],
        admit: Callable[[Request], Response | None] | None = None,
    ) -> None:
        self.faults = faults
        self.render_fault = render_fault
        self.admit = admit
        self.scenarios = ScenarioPlays()

    async def run(
        self, request: Request, handler: Callable[[Request], Coroutine[Any, Any, Response]]
    ) -> Response:
        fault, slow = self.scenarios.fault_for(request)
        if slow:
            await asyncio.sleep(SCENARIO_SLOW_SECONDS)
        fault = fault or self.faults.take(request.url.path)
        if fault is not None and fault.kind is not FaultKind.LOST_RESPONSE:
            return self.render_fault(fault)
        if self.admit is not None:
            refusal = self.admit(request)
            if refusal is not None:
                return refusal
        response = await handler(request)
        if fault is not None and response.status_code < HTTPStatus.MULTIPLE_CHOICES:
            return Response("Gateway Timeout", HTTPStatus.GATEWAY_TIMEOUT, media_type="text/plain")
        return response


def plain_fault_response(fault: QueuedFault) -> Response:
    """A gateway's answer to an injected fault, for APIs without an error format of their own."""
    if fault.kind is FaultKind.HTTP_429:
        return Response(
            "Too Many Requests",
            HTTPStatus.TOO_MANY_REQUESTS,
            headers={"Retry-After": str(fault.retry_after_seconds)},
            media_type="text/plain",
        )
    if fault.kind is FaultKind.HTTP_503:
        page = "<html><body><h1>503 Service Unavailable</h1></body></html>"
        return Response(page, HTTPStatus.SERVICE_UNAVAILABLE, media_type="text/html")
    return Response(
        "Internal Server Error", HTTPStatus.INTERNAL_SERVER_ERROR, media_type="text/plain"
    )


def guarded_route_class(guard: ApiGuard) -> type[APIRoute]:
    """An APIRoute class whose handlers run inside `guard` (for APIRouter(route_class=...))."""

    class GuardedRoute(APIRoute):
        def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
            handler = super().get_route_handler()

            async def guarded(request: Request) -> Response:
                return await guard.run(request, handler)

            return guarded

    return GuardedRoute


def guarded_router(
    *,
    prefix: str,
    tag: str,
    faults: FaultQueue,
    admit: Callable[[Request], Response | None] | None = None,
    render_fault: Callable[[QueuedFault], Response] = plain_fault_response,
) -> APIRouter:
    """A router for a simulated API whose every route runs inside an ApiGuard."""
    guard = ApiGuard(faults=faults, render_fault=render_fault, admit=admit)
    return APIRouter(prefix=prefix, tags=[tag], route_class=guarded_route_class(guard))


async def read_body(request: Request, limit: int = MAX_DOCUMENT_BYTES) -> bytes | None:
    """The request body, or None once it passes `limit` bytes (without reading the rest)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return None
    received = bytearray()
    async for chunk in request.stream():
        received += chunk
        if len(received) > limit:
            return None
    return bytes(received)


def bearer_token(request: Request) -> str | None:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        return None
    return value.strip() or None
