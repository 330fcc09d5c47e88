"""What the API-key simulators (Peppol access point, French platform, ZRE) share: the processing
delay restored by reset, faults, one rate limit, the clock, and the check every call meets
first (the bearer API key, then the rate limit), answered in each API's own words."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from fastapi import APIRouter, Request, Response

from services.govsim.common import (
    Arrivals,
    Clock,
    FaultQueue,
    Processed,
    RateLimit,
    SlidingWindowLimiter,
    bearer_token,
    guarded_router,
)

Item = TypeVar("Item", bound=Processed)
Forced = TypeVar("Forced")


@dataclass
class KeyedSimulator(Generic[Item, Forced]):
    """What it received is `received`, by id; subclasses decide an item whose processing is
    over in `_decide`, move decided ones on in `_follow_up`, and clear their own state in
    `_clear_state`."""

    processing_delay: float
    api_key: str
    clock: Clock = time.time
    faults: FaultQueue = field(default_factory=FaultQueue)
    rate_limit: RateLimit = field(default_factory=RateLimit)
    limiter: SlidingWindowLimiter = field(init=False)
    received: Arrivals[str, Item, Forced] = field(init=False)
    _default_processing_delay: float = field(init=False)

    def __post_init__(self) -> None:
        self._default_processing_delay = self.processing_delay
        self.limiter = SlidingWindowLimiter(self.clock)
        self.received = Arrivals(clock=self.clock, decide=self._decide, follow_up=self._follow_up)

    def reset(self) -> None:
        self.processing_delay = self._default_processing_delay
        self.faults.clear()
        self.rate_limit = RateLimit()
        self.limiter.clear()
        self.received.clear()
        self._clear_state()

    def _clear_state(self) -> None:
        raise NotImplementedError

    def _decide(self, item: Item) -> None:
        raise NotImplementedError

    def _follow_up(self, now: float) -> None:
        """Nothing moves after the decision unless a subclass says so."""

    def settle(self) -> None:
        self.received.settle()

    def stamp(self, at: float) -> str:
        return datetime.fromtimestamp(at, UTC).isoformat()


@dataclass(frozen=True)
class KeyRefusals:
    """An API's own answers to a missing or wrong key, and to a call over the rate limit (given
    the seconds to wait)."""

    unauthorized: Callable[[], Response]
    too_many_requests: Callable[[int], Response]


def admit_keyed(
    simulator: KeyedSimulator[Any, Any], refusals: KeyRefusals, request: Request
) -> Response | None:
    """What settles due work, then refuses a call without the API key or over the limit."""
    simulator.settle()
    key = bearer_token(request)
    if key is None or not secrets.compare_digest(key, simulator.api_key):
        return refusals.unauthorized()
    refusal = simulator.limiter.admit("api-key", simulator.rate_limit)
    if refusal is None:
        return None
    return refusals.too_many_requests(refusal.retry_after_seconds)


def keyed_api_router(
    simulator: KeyedSimulator[Any, Any], refusals: KeyRefusals, *, prefix: str, tag: str
) -> APIRouter:
    """The router of a keyed API: its routes run inside the guard, behind `admit_keyed`."""
    return guarded_router(
        prefix=prefix,
        tag=tag,
        faults=simulator.faults,
        admit=lambda request: admit_keyed(simulator, refusals, request),
    )
