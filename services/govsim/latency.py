"""A government slow for a while: every call to its API (or to the paths given) is answered
only after a delay, until the window ends.

What the chaos suite does to catch a service in the middle of a call: a receiver killed while
it downloads from a government that is holding the download open. `held` says how many calls
are being held right now, `delayed` how many were held since the window opened. Like an outage
(outage.py), it sits in front of every simulator; the controls and the probes are never slowed.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from fastapi import APIRouter, FastAPI, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from services.govsim.outage import ALWAYS_UP

CONTROL_PATH = "/_sim/latency"


class LatencyRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    seconds: float = Field(gt=0, le=3600)  # how long the government stays slow
    delay: float = Field(gt=0, le=60)  # how long each call is held before it is answered
    # Only paths starting with one of these (e.g. "/test/FCTEL/rest/descarcare" for ANAF's
    # downloads); None: every government at once.
    path_prefixes: list[str] | None = Field(default=None, min_length=1, max_length=20)


@dataclass
class Latency:
    until: float = 0.0  # time.monotonic() when it ends; 0: none
    delay: float = 0.0
    path_prefixes: tuple[str, ...] | None = None
    held: int = 0  # calls being held now
    delayed: int = 0  # calls held since the window opened

    def start(self, request: LatencyRequest) -> None:
        self.until = time.monotonic() + request.seconds
        self.delay = request.delay
        self.path_prefixes = None if request.path_prefixes is None else tuple(request.path_prefixes)
        self.delayed = 0

    def stop(self) -> None:
        self.until = 0.0

    def hits(self, path: str) -> bool:
        if time.monotonic() >= self.until or path.startswith(ALWAYS_UP):
            return False
        return self.path_prefixes is None or path.startswith(self.path_prefixes)

    def as_json(self) -> dict[str, Any]:
        remaining = max(self.until - time.monotonic(), 0.0)
        return {
            "active": remaining > 0,
            "remainingSeconds": round(remaining, 3),
            "delay": self.delay,
            "pathPrefixes": None if self.path_prefixes is None else list(self.path_prefixes),
            "held": self.held,
            "delayed": self.delayed,
        }


def install_latency(app: FastAPI) -> Latency:
    """The middleware that holds the calls of a slow government, and its controls."""
    latency = Latency()

    @app.middleware("http")
    async def answer_slowly(request: Request, call_next: Any) -> Any:
        if latency.hits(request.url.path):
            latency.held += 1
            latency.delayed += 1
            try:
                await asyncio.sleep(latency.delay)
            finally:
                latency.held -= 1
        return await call_next(request)

    router = APIRouter(prefix=CONTROL_PATH, tags=["simulator control"])

    @router.post("")
    async def start_latency(body: LatencyRequest) -> dict[str, Any]:
        latency.start(body)
        return latency.as_json()

    @router.get("")
    async def latency_state() -> dict[str, Any]:
        return latency.as_json()

    @router.delete("", status_code=HTTPStatus.NO_CONTENT)
    async def end_latency() -> Response:
        latency.stop()
        return Response(status_code=HTTPStatus.NO_CONTENT)

    app.include_router(router)
    return latency
