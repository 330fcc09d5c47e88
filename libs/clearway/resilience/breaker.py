"""A circuit breaker per government endpoint, per process.

Per process, not shared: a breaker exists to stop *this* process from hammering an endpoint
that keeps failing, and to fail fast while it is down. Sharing it through PostgreSQL would cost
a write on every call outcome (hundreds a minute, all on one row), and gain little: each replica
opens its own breaker after `failure_threshold` failures, so an outage costs at most
replicas x threshold calls before everyone backs off. Work is never dropped while a breaker is
open: the caller reschedules it (durably) for `retry_at()`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum


class BreakerState(StrEnum):
    CLOSED = "closed"  # calls go through
    OPEN = "open"  # calls are refused until reset_after has passed
    HALF_OPEN = "half_open"  # one probe call is in flight; its outcome decides


@dataclass
class CircuitBreaker:
    failure_threshold: int = 5  # consecutive failures that open the breaker
    reset_after: float = 30.0  # seconds open before one probe is let through
    clock: Callable[[], float] = time.monotonic
    state: BreakerState = BreakerState.CLOSED
    failures: int = 0
    opened_at: float = 0.0
    probe_started_at: float = 0.0

    def allow(self) -> bool:
        """May a call go out now? In half-open, only the first caller (the probe) may."""
        now = self.clock()
        if self.state is BreakerState.CLOSED:
            return True
        if self.state is BreakerState.OPEN and now - self.opened_at >= self.reset_after:
            self.state = BreakerState.HALF_OPEN
            self.probe_started_at = now
            return True
        if self.state is BreakerState.HALF_OPEN and now - self.probe_started_at >= self.reset_after:
            # The probe never reported (its task died): let another one through.
            self.probe_started_at = now
            return True
        return False

    def retry_at(self) -> float:
        """Clock time when a refused caller should come back."""
        started = self.opened_at if self.state is BreakerState.OPEN else self.probe_started_at
        return started + self.reset_after

    def release(self) -> None:
        """The call `allow()` just let through did not go out (a limit held it back): in
        half-open, let the next caller be the probe instead of waiting a whole pause."""
        if self.state is BreakerState.HALF_OPEN:
            self.state = BreakerState.OPEN
            self.opened_at = self.probe_started_at - self.reset_after

    def record_success(self) -> None:
        self.state = BreakerState.CLOSED
        self.failures = 0

    def record_failure(self) -> None:
        self.failures += 1
        if self.state is BreakerState.HALF_OPEN or self.failures >= self.failure_threshold:
            self.state = BreakerState.OPEN
            self.opened_at = self.clock()


@dataclass
class Breakers:
    """One breaker per endpoint name, made on first use."""

    failure_threshold: int = 5
    reset_after: float = 30.0
    clock: Callable[[], float] = time.monotonic
    _by_endpoint: dict[str, CircuitBreaker] = field(default_factory=dict)

    def __getitem__(self, endpoint: str) -> CircuitBreaker:
        breaker = self._by_endpoint.get(endpoint)
        if breaker is None:
            breaker = CircuitBreaker(self.failure_threshold, self.reset_after, self.clock)
            self._by_endpoint[endpoint] = breaker
        return breaker
