"""A government slow for a while: every call to its API (or to the paths given) is answered
only after a delay, until the window ends.

What the chaos suite does to catch a service in the middle of a call: a receiver killed while
it downloads from a government that is holding the download open. `held` says how many calls
are being held right now, `delayed` how many were held since the window opened. Like an outage
(outage.py), it sits in front of every simulator; the controls and the probes are never slowed.
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import FastAPI, Request
from pydantic import BaseModel, ConfigDict, Field

from services.govsim.windows import FaultWindow, install_window


class LatencyRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    seconds: float = Field(gt=0, le=3600)  # how long the government stays slow
    delay: float = Field(gt=0, le=60)  # how long each call is held before it is answered
    # Only paths starting with one of these (e.g. "/test/FCTEL/rest/descarcare" for ANAF's
    # downloads); None: every government at once.
    path_prefixes: list[str] | None = Field(default=None, min_length=1, max_length=20)


class Latency(FaultWindow):
    def __init__(self) -> None:
        super().__init__()
        self.delay = 0.0
        self.held = 0  # calls being held now
        self.delayed = 0  # calls held since the window opened

    def start(self, request: LatencyRequest) -> None:
        prefixes = request.path_prefixes
        self.open(request.seconds, None if prefixes is None else tuple(prefixes))
        self.delay = request.delay
        self.delayed = 0

    def as_json(self) -> dict[str, Any]:
        return {
            **super().as_json(),
            "delay": self.delay,
            "pathPrefixes": None if self.path_prefixes is None else list(self.path_prefixes),
            "held": self.held,
            "delayed": self.delayed,
        }

    async def answer(self, request: Request, call_next: Any) -> Any:
        self.held += 1
        self.delayed += 1
        try:
            await asyncio.sleep(self.delay)
        finally:
            self.held -= 1
        return await call_next(request)


def install_latency(app: FastAPI) -> Latency:
    """The middleware that holds the calls of a slow government, and its controls."""
    latency = Latency()
    install_window(app, "latency", LatencyRequest, latency)
    return latency
