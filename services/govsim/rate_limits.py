"""Sliding-window rate limits, as the simulated gateways enforce them."""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

from services.govsim.clock import Clock


@dataclass(frozen=True)
class RateLimit:
    """Thresholds that all hold at once; None leaves a window unlimited."""

    per_second: int | None = None
    per_minute: int | None = None
    per_hour: int | None = None

    def windows(self) -> list[tuple[int, int]]:
        """(window seconds, maximum calls in it), for the windows that are limited."""
        pairs = ((1, self.per_second), (60, self.per_minute), (3600, self.per_hour))
        return [(seconds, limit) for seconds, limit in pairs if limit is not None]


@dataclass(frozen=True)
class Refusal:
    """A call over a limit: how long to wait, and which window was full (for the message)."""

    retry_after_seconds: int
    window_seconds: int
    limit: int


class SlidingWindowLimiter:
    """Counts calls per key over sliding (not calendar-aligned) windows."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._calls: dict[str, deque[float]] = {}

    def admit(self, key: str, limit: RateLimit) -> Refusal | None:
        windows = limit.windows()
        if not windows:
            return None
        now = self._clock()
        calls = self._calls.setdefault(key, deque())
        longest = max(seconds for seconds, _ in windows)
        while calls and calls[0] <= now - longest:
            calls.popleft()
        for seconds, maximum in windows:
            in_window = [at for at in calls if at > now - seconds]
            if len(in_window) >= maximum:
                # The window frees a slot when its oldest counted call leaves it.
                wait = in_window[-maximum] + seconds - now
                return Refusal(max(1, math.ceil(wait)), seconds, maximum)
        calls.append(now)
        return None

    def clear(self) -> None:
        self._calls.clear()
