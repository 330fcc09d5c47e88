"""The circuit breaker on a fake clock: opens after consecutive failures, lets one probe through
after the pause, and closes or opens again on the probe's outcome."""

from __future__ import annotations

from clearway.resilience.breaker import Breakers, BreakerState, CircuitBreaker


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _breaker(clock: Clock) -> CircuitBreaker:
    return CircuitBreaker(failure_threshold=3, reset_after=10.0, clock=clock)


def _opened(clock: Clock) -> CircuitBreaker:
    """A breaker its three failures have just opened."""
    breaker = _breaker(clock)
    for _ in range(3):
        breaker.record_failure()
    return breaker


def _probing(clock: Clock) -> CircuitBreaker:
    """An opened breaker whose pause has passed, its one probe let through."""
    breaker = _opened(clock)
    clock.now += 10
    assert breaker.allow()  # the probe
    return breaker


def test_it_opens_after_the_threshold_of_consecutive_failures_only() -> None:
    clock = Clock()
    breaker = _breaker(clock)
    breaker.record_failure()
    breaker.record_failure()
    breaker.record_success()  # a success in between starts the count again
    breaker.record_failure()
    breaker.record_failure()
    assert breaker.allow()
    breaker.record_failure()
    assert breaker.state is BreakerState.OPEN
    assert not breaker.allow()
    assert breaker.retry_at() == clock.now + 10


def test_after_the_pause_one_probe_goes_and_its_success_closes_it() -> None:
    clock = Clock()
    breaker = _probing(clock)
    assert breaker.state is BreakerState.HALF_OPEN
    assert not breaker.allow()  # nobody else while it is out
    breaker.record_success()
    assert breaker.state is BreakerState.CLOSED
    assert breaker.allow()


def test_a_failed_probe_opens_it_again_for_a_full_pause() -> None:
    clock = Clock()
    breaker = _probing(clock)
    breaker.record_failure()
    assert breaker.state is BreakerState.OPEN
    clock.now += 9
    assert not breaker.allow()
    clock.now += 1
    assert breaker.allow()


def test_a_probe_that_never_reports_does_not_hold_it_half_open_for_ever() -> None:
    clock = Clock()
    breaker = _probing(clock)
    clock.now += 10  # the probe's task died
    assert breaker.allow()


def test_a_probe_given_back_lets_the_next_caller_probe_at_once() -> None:
    clock = Clock()
    breaker = _probing(clock)
    breaker.release()  # a rate limit held the probe back: it never went out
    assert breaker.allow()  # the next caller probes, without another pause
    assert not breaker.allow()
    breaker.record_success()
    assert breaker.state is BreakerState.CLOSED


def test_giving_back_a_call_of_a_closed_breaker_changes_nothing() -> None:
    clock = Clock()
    breaker = _breaker(clock)
    assert breaker.allow()
    breaker.release()
    assert breaker.state is BreakerState.CLOSED
    assert breaker.allow()


def test_one_breaker_per_endpoint() -> None:
    clock = Clock()
    breakers = Breakers(failure_threshold=1, reset_after=5, clock=clock)
    breakers["POST /upload"].record_failure()
    assert not breakers["POST /upload"].allow()
    assert breakers["GET /stareMesaj"].allow()
