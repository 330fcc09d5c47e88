"""When to try again: exponential backoff with jitter, and the server's Retry-After.

Pure: the caller passes the clock's `now` and a random source, so a test can replay a schedule.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from email.utils import parsedate_to_datetime


@dataclass(frozen=True)
class Backoff:
    """Delay before retry `attempt` (1 = the first retry): base·2^(attempt-1), capped.

    Equal jitter: half the delay is fixed, half random. Replicas that failed together spread
    out, and no retry comes back at once (full jitter can pick ~0 s, which is a retry storm
    against a government that just failed).
    """

    base: float
    cap: float
    max_attempts: int

    def delay(self, attempt: int, rng: random.Random, *, retry_after: float | None = None) -> float:
        ceiling = min(self.cap, self.base * 2.0 ** max(attempt - 1, 0))
        delay = ceiling / 2 + rng.uniform(0, ceiling / 2)
        # The server knows when it will take calls again: never come back earlier than it says.
        return max(delay, retry_after or 0.0)

    def next_attempt_at(
        self,
        now: dt.datetime,
        attempt: int,
        rng: random.Random,
        *,
        retry_after: float | None = None,
    ) -> dt.datetime:
        return now + dt.timedelta(seconds=self.delay(attempt, rng, retry_after=retry_after))

    def exhausted(self, attempts: int) -> bool:
        return attempts >= self.max_attempts


def parse_retry_after(value: str | None, now: dt.datetime) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date); None if absent/bad."""
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max((when - now).total_seconds(), 0.0)
