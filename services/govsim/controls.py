"""The standard test-only controls every simulator has (/reset, /processing-delay,
/faults) and, for a simulator with one rate limit, /rate-limit."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any, Protocol

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from services.govsim.faults import FaultKind, FaultQueue, QueuedFault
from services.govsim.rate_limits import RateLimit


class ControllableSimulator(Protocol):
    faults: FaultQueue
    processing_delay: float

    def reset(self) -> None: ...


class RateLimitedSimulator(ControllableSimulator, Protocol):
    rate_limit: RateLimit  # one limit for every call


class ProcessingDelay(BaseModel):
    model_config = ConfigDict(frozen=True)
    seconds: float = Field(ge=0)


class Queued(BaseModel):
    """A test control that applies to the next `count` calls (or submissions)."""

    model_config = ConfigDict(frozen=True)
    count: int = Field(default=1, ge=1)


class FaultRequest(Queued):
    kind: FaultKind
    retry_after_seconds: int = Field(default=30, ge=0)  # only for http_429
    path_contains: str | None = None  # limit the fault to calls whose path contains this


class RequestsPerMinute(BaseModel):
    model_config = ConfigDict(frozen=True)
    requests_per_minute: int | None = Field(ge=1)  # None: unlimited


def add_standard_controls(router: APIRouter, simulator: ControllableSimulator) -> None:
    """/reset, /processing-delay and /faults, the controls every simulator has."""

    @router.post("/reset", status_code=HTTPStatus.NO_CONTENT)
    async def reset() -> None:
        """Forget everything submitted, queued faults and overrides."""
        simulator.reset()

    @router.put("/processing-delay", status_code=HTTPStatus.NO_CONTENT)
    async def set_processing_delay(delay: ProcessingDelay) -> None:
        """Applies to later submissions; earlier ones keep the delay they were given."""
        simulator.processing_delay = delay.seconds

    @router.get("/faults")
    async def faults() -> dict[str, list[dict[str, Any]]]:
        return {"pending": simulator.faults.pending}

    @router.post("/faults")
    async def queue_faults(request: FaultRequest) -> dict[str, list[dict[str, Any]]]:
        """The next `count` matching calls fail as `kind` says (see FaultKind)."""
        fault = QueuedFault(request.kind, request.retry_after_seconds, request.path_contains)
        simulator.faults.add(fault, request.count)
        return {"pending": simulator.faults.pending}

    @router.delete("/faults", status_code=HTTPStatus.NO_CONTENT)
    async def clear_faults() -> None:
        simulator.faults.clear()


def standard_control_router(simulator: RateLimitedSimulator, *, prefix: str, tag: str) -> APIRouter:
    """The test-only router of a simulator with one rate limit: the standard controls, and
    /rate-limit."""
    router = APIRouter(prefix=prefix, tags=[tag])
    add_standard_controls(router, simulator)

    @router.put("/rate-limit", status_code=HTTPStatus.NO_CONTENT)
    async def set_rate_limit(limit: RequestsPerMinute) -> None:
        simulator.rate_limit = RateLimit(per_minute=limit.requests_per_minute)

    return router
