"""A government down for a while: every call to its API answers 5xx until the window ends.

What the chaos suite does to a whole government ("ANAF returns 503 for a minute"), as opposed
to the queued faults of each simulator (the next N calls). Nothing is received or changed while
it lasts: the call never reaches the simulator behind.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, ConfigDict, Field

from services.govsim.windows import FaultWindow, install_window


class OutageRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    seconds: float = Field(gt=0, le=3600)
    status: int = Field(default=HTTPStatus.SERVICE_UNAVAILABLE, ge=500, le=599)
    # Only paths starting with this (e.g. "/test/FCTEL" for ANAF's API, "/v2" for KSeF); None:
    # every government at once.
    path_prefix: str | None = Field(default=None, min_length=1, max_length=200)


class Outage(FaultWindow):
    def __init__(self) -> None:
        super().__init__()
        self.status: int = HTTPStatus.SERVICE_UNAVAILABLE
        self.refused = 0  # calls answered with the outage's status

    def start(self, request: OutageRequest) -> None:
        self.open(request.seconds, None if request.path_prefix is None else (request.path_prefix,))
        self.status = request.status
        self.refused = 0

    def as_json(self) -> dict[str, Any]:
        path_prefix = None if self.path_prefixes is None else self.path_prefixes[0]
        return {
            **super().as_json(),
            "status": self.status,
            "pathPrefix": path_prefix,
            "refused": self.refused,
        }

    async def answer(self, request: Request, call_next: Any) -> Any:  # noqa: ARG002 - never reaches the simulator
        self.refused += 1
        return PlainTextResponse("Service Unavailable", status_code=self.status)


def install_outage(app: FastAPI) -> Outage:
    """The middleware that answers for a government that is down, and its controls."""
    outage = Outage()
    install_window(app, "outage", OutageRequest, outage)
    return outage
