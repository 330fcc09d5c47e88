"""The retry schedule, replayed with a fake clock and a seeded random source."""

from __future__ import annotations

import datetime as dt
import random

from clearway.resilience.backoff import Backoff, parse_retry_after

NOW = dt.datetime(2026, 6, 1, 10, 0, tzinfo=dt.UTC)
POLICY = Backoff(base=2.0, cap=60.0, max_attempts=5)


def test_each_delay_is_between_half_and_all_of_its_doubling_ceiling() -> None:
    rng = random.Random(7)  # noqa: S311 - seeded on purpose
    for attempt, ceiling in [(1, 2), (2, 4), (3, 8), (4, 16), (5, 32), (6, 60), (12, 60)]:
        for _ in range(200):
            delay = POLICY.delay(attempt, rng)
            assert ceiling / 2 <= delay <= ceiling


def test_jitter_spreads_replicas_that_failed_together() -> None:
    rngs = [random.Random(seed) for seed in range(20)]  # noqa: S311 - seeded on purpose
    delays = {round(POLICY.delay(4, rng), 3) for rng in rngs}
    assert len(delays) > 15


def test_a_schedule_on_a_fake_clock_is_reproducible_and_increasing_in_ceiling() -> None:
    def schedule(seed: int) -> list[dt.datetime]:
        rng, clock, times = random.Random(seed), NOW, []  # noqa: S311
        for attempt in range(1, 6):
            clock = POLICY.next_attempt_at(clock, attempt, rng)
            times.append(clock)
        return times

    first, again = schedule(3), schedule(3)
    assert first == again
    gaps = [(b - a).total_seconds() for a, b in zip([NOW, *first], first, strict=False)]
    assert gaps[0] <= 2  # 1-2 s first
    assert gaps[-1] >= 16  # 16-32 s by the fifth


def test_retry_after_is_never_undercut() -> None:
    rng = random.Random(1)  # noqa: S311
    assert POLICY.delay(1, rng, retry_after=30) == 30
    assert POLICY.delay(6, rng, retry_after=1) >= 30  # the backoff is already longer


def test_the_attempts_run_out() -> None:
    assert not POLICY.exhausted(4)
    assert POLICY.exhausted(5)


def test_retry_after_reads_seconds_and_http_dates() -> None:
    assert parse_retry_after("120", NOW) == 120
    assert parse_retry_after("Mon, 01 Jun 2026 10:00:30 GMT", NOW) == 30
    assert parse_retry_after("Mon, 01 Jun 2026 09:00:00 GMT", NOW) == 0  # already past
    assert parse_retry_after(None, NOW) is None
    assert parse_retry_after("soon", NOW) is None
