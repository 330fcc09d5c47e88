"""A government down for a while: every call to its API answers 5xx until the window ends.

What the chaos suite does to a whole government ("ANAF returns 503 for a minute"), as opposed
to the queued faults of each simulator (the next N calls). Nothing is received or changed while
it lasts: the call never reaches the simulator behind.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, ConfigDict, Field

CONTROL_PATH = "/_sim/outage"
# Never down: the controls themselves and the probes.
ALWAYS_UP = ("/_sim/", "/metrics", "/healthz", "/readyz")


class OutageRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    seconds: float = Field(gt=0, le=3600)
    status: int = Field(default=HTTPStatus.SERVICE_UNAVAILABLE, ge=500, le=599)
    # Only paths starting with this (e.g. "/test/FCTEL" for ANAF's API, "/v2" for KSeF); None:
    # every government at once.
    path_prefix: str | None = Field(default=None, min_length=1, max_length=200)


@dataclass
class Outage:
    until: float = 0.0  # time.monotonic() when it ends; 0: none
    status: int = HTTPStatus.SERVICE_UNAVAILABLE
    path_prefix: str | None = None
    refused: int = 0  # calls answered with the outage's status

    def start(self, request: OutageRequest) -> None:
        self.until = time.monotonic() + request.seconds
        self.status = request.status
        self.path_prefix = request.path_prefix
        self.refused = 0

    def stop(self) -> None:
        self.until = 0.0

    def hits(self, path: str) -> bool:
        if time.monotonic() >= self.until or path.startswith(ALWAYS_UP):
            return False
        return self.path_prefix is None or path.startswith(self.path_prefix)

    def as_json(self) -> dict[str, Any]:
        remaining = max(self.until - time.monotonic(), 0.0)
        return {
            "active": remaining > 0,
            "remainingSeconds": round(remaining, 3),
            "status": self.status,
            "pathPrefix": self.path_prefix,
            "refused": self.refused,
        }


def install_outage(app: FastAPI) -> Outage:
    """The middleware that answers for a government that is down, and its controls."""
    outage = Outage()

    @app.middleware("http")
    async def answer_while_down(request: Request, call_next: Any) -> Any:
        if outage.hits(request.url.path):
            outage.refused += 1
            return PlainTextResponse("Service Unavailable", status_code=outage.status)
        return await call_next(request)

    router = APIRouter(prefix=CONTROL_PATH, tags=["simulator control"])

    @router.post("")
    async def start_outage(body: OutageRequest) -> dict[str, Any]:
        outage.start(body)
        return outage.as_json()

    @router.get("")
    async def outage_state() -> dict[str, Any]:
        return outage.as_json()

    @router.delete("", status_code=HTTPStatus.NO_CONTENT)
    async def end_outage() -> Response:
        outage.stop()
        return Response(status_code=HTTPStatus.NO_CONTENT)

    app.include_router(router)
    return outage
