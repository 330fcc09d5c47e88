"""When a failed delivery is tried again, and when a failing endpoint is given up on.

The schedule is the pause after each failed attempt: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h,
20 h, 24 h, about three days in all (ten attempts). Each pause is jittered so that the
deliveries of one outage do not all come back at the same second, and is never shorter than
the endpoint's own `Retry-After` (429/503). Time is passed in, never read here, so a test can
run three days of schedule in no time.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Callable
from dataclasses import dataclass

DEFAULT_SCHEDULE: tuple[float, ...] = (
    5,
    5 * 60,
    30 * 60,
    2 * 3600,
    5 * 3600,
    10 * 3600,
    14 * 3600,
    20 * 3600,
    24 * 3600,
)
DEFAULT_JITTER = 0.1  # each pause is 90 % to 110 % of the schedule's
DISABLE_AFTER = dt.timedelta(days=3)
RETRY_AFTER_CAP = 24 * 3600.0  # a longer Retry-After is read as this
# The statuses whose Retry-After is honoured (RFC 9110: 503; RFC 6585: 429).
RETRY_AFTER_STATUSES = frozenset({429, 503})

Uniform = Callable[[], float]  # a number in [0, 1)
_system_random = secrets.SystemRandom()


@dataclass(frozen=True)
class RetryPolicy:
    schedule: tuple[float, ...] = DEFAULT_SCHEDULE
    jitter: float = DEFAULT_JITTER

    @property
    def max_attempts(self) -> int:
        return len(self.schedule) + 1

    def next_attempt_at(
        self,
        failed_attempts: int,
        now: dt.datetime,
        *,
        retry_after: float | None = None,
        uniform: Uniform = _system_random.random,
    ) -> dt.datetime | None:
        """After `failed_attempts` failures in a row: when to try again, or None when that was
        the last attempt and the delivery is dead-lettered."""
        if failed_attempts < 1 or failed_attempts >= self.max_attempts:
            return None
        pause = self.schedule[failed_attempts - 1] * (1 + self.jitter * (2 * uniform() - 1))
        if retry_after is not None:
            # Not sooner than the endpoint asked, but not parked for longer than a day.
            pause = max(pause, min(retry_after, RETRY_AFTER_CAP))
        return now + dt.timedelta(seconds=pause)


def should_disable(
    failing_since: dt.datetime | None, now: dt.datetime, disable_after: dt.timedelta
) -> bool:
    """An endpoint that has failed every attempt for `disable_after` is disabled."""
    return failing_since is not None and now - failing_since >= disable_after
