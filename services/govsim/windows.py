"""A fault that lasts a while and hits the calls to a government's API (outage.py: they are
answered 5xx; latency.py: late): the window, which paths it hits, and its controls (POST opens
it, GET says its state, DELETE ends it), the same for every such fault.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from fastapi import APIRouter, FastAPI, Request, Response
from pydantic import BaseModel
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

# Never hit: the controls themselves and the probes.
ALWAYS_UP = ("/_sim/", "/metrics", "/healthz", "/readyz")


@dataclass
class FaultWindow:
    """The window; a fault adds what it does to a call and says so in as_json."""

    until: float = 0.0  # time.monotonic() when it ends; 0: none
    path_prefixes: tuple[str, ...] | None = None  # None: every government at once

    def start(self, request: Any) -> None:
        """Opens the window the control's request asks for."""
        raise NotImplementedError

    async def answer(self, request: Request, call_next: Any) -> Any:
        """What a call the window hits is answered."""
        raise NotImplementedError

    def open(self, seconds: float, path_prefixes: tuple[str, ...] | None) -> None:
        self.until = time.monotonic() + seconds
        self.path_prefixes = path_prefixes

    def stop(self) -> None:
        self.until = 0.0

    def hits(self, path: str) -> bool:
        if time.monotonic() >= self.until or path.startswith(ALWAYS_UP):
            return False
        return self.path_prefixes is None or path.startswith(self.path_prefixes)

    def as_json(self) -> dict[str, Any]:
        remaining = max(self.until - time.monotonic(), 0.0)
        return {"active": remaining > 0, "remainingSeconds": round(remaining, 3)}


class _WindowGate:
    """Lets `window` answer the calls it hits. A call it does not hit (every call while it is
    closed) goes straight on: Starlette's request/response middleware wraps each call in tasks
    and streams, which cost the simulator more CPU than most of its answers."""

    def __init__(self, app: ASGIApp, window: FaultWindow) -> None:
        self.app = app
        self.window = window
        self.through = BaseHTTPMiddleware(app, dispatch=window.answer)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self.window.hits(scope["path"]):
            await self.through(scope, receive, send)
        else:
            await self.app(scope, receive, send)


def install_window(
    app: FastAPI, name: str, request_model: type[BaseModel], window: FaultWindow
) -> None:
    """The middleware that lets `window` answer the calls it hits, and its controls at
    /_sim/<name>: POST a `request_model` opens the window, GET says its state, DELETE ends it
    (204); the first two answer with its as_json."""

    app.add_middleware(_WindowGate, window=window)

    router = APIRouter(prefix=f"/_sim/{name}", tags=["simulator control"])

    async def start(body: Any) -> dict[str, Any]:
        window.start(body)
        return window.as_json()

    # The body's model is known only here; FastAPI reads it from the annotation.
    start.__annotations__["body"] = request_model

    async def state() -> dict[str, Any]:
        return window.as_json()

    async def end() -> Response:
        window.stop()
        return Response(status_code=HTTPStatus.NO_CONTENT)

    router.add_api_route("", start, methods=["POST"], name=f"start_{name}")
    router.add_api_route("", state, methods=["GET"], name=f"{name}_state")
    router.add_api_route(
        "", end, methods=["DELETE"], status_code=HTTPStatus.NO_CONTENT, name=f"end_{name}"
    )
    app.include_router(router)
