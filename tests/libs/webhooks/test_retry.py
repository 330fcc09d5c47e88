"""The retry schedule, on a clock the test holds: three days of attempts in no time."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from clearway.config import WebhookConfig
from clearway.webhooks.retry import DEFAULT_SCHEDULE, RetryPolicy, parse_retry_after, should_disable
from clearway.webhooks.settings import WebhookSettings

START = dt.datetime(2025, 1, 15, 10, 0, tzinfo=dt.UTC)


def _middle() -> float:
    return 0.5  # jitter factor 1.0: the schedule exactly


def test_the_default_schedule_spans_about_three_days_in_ten_attempts() -> None:
    policy = RetryPolicy()
    clock = START
    attempts = [clock]
    failed = 1
    while (following := policy.next_attempt_at(failed, clock, uniform=_middle)) is not None:
        clock = following
        attempts.append(clock)
        failed += 1
    pauses = [(b - a).total_seconds() for a, b in itertools.pairwise(attempts)]
    assert pauses == [5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400]
    assert len(attempts) == policy.max_attempts == 10
    total = attempts[-1] - attempts[0]
    assert dt.timedelta(days=3) < total < dt.timedelta(days=3, hours=4)


@pytest.mark.parametrize("uniform", [0.0, 0.999999])
def test_jitter_stays_within_ten_percent(uniform: float) -> None:
    policy = RetryPolicy()
    for failed, pause in enumerate(DEFAULT_SCHEDULE, start=1):
        following = policy.next_attempt_at(failed, START, uniform=lambda u=uniform: u)
        assert following is not None
        seconds = (following - START).total_seconds()
        assert pause * 0.9 - 1e-6 <= seconds <= pause * 1.1 + 1e-6
        assert seconds != pause


def test_after_the_last_attempt_there_is_none() -> None:
    policy = RetryPolicy(schedule=(0.2, 0.5, 1.0), jitter=0)
    assert policy.next_attempt_at(3, START) == START + dt.timedelta(seconds=1)
    assert policy.next_attempt_at(4, START) is None


def test_retry_after_is_never_undercut_and_capped_at_a_day() -> None:
    policy = RetryPolicy(jitter=0)
    assert policy.next_attempt_at(1, START, retry_after=120) == START + dt.timedelta(seconds=120)
    # A shorter Retry-After than the schedule's pause does not make it sooner.
    assert policy.next_attempt_at(2, START, retry_after=1) == START + dt.timedelta(seconds=300)
    # A week is not honoured past a day.
    assert policy.next_attempt_at(1, START, retry_after=7 * 86400) == START + dt.timedelta(hours=24)


def test_retry_after_as_seconds_or_http_date() -> None:
    assert parse_retry_after("120", START) == 120
    assert parse_retry_after("Wed, 15 Jan 2025 10:01:30 GMT", START) == 90
    assert parse_retry_after("Wed, 15 Jan 2025 09:00:00 GMT", START) == 0
    assert parse_retry_after("soon", START) is None
    assert parse_retry_after(None, START) is None


def test_an_endpoint_failing_for_three_days_is_disabled() -> None:
    three_days = dt.timedelta(days=3)
    assert not should_disable(None, START, three_days)
    assert not should_disable(START, START + dt.timedelta(days=2, hours=23), three_days)
    assert should_disable(START, START + three_days, three_days)


def test_settings_from_the_environment() -> None:
    settings = WebhookSettings.from_config(
        WebhookConfig.from_env(
            {
                "WEBHOOK_RETRY_SCHEDULE": "0.2, 0.5,1",
                "WEBHOOK_RETRY_JITTER": "0",
                "WEBHOOK_TIMEOUT_SECONDS": "2",
                "WEBHOOK_ALLOWED_NETWORKS": "127.0.0.0/8",
            }
        )
    )
    assert settings.retry == RetryPolicy(schedule=(0.2, 0.5, 1.0), jitter=0)
    assert settings.timeout_seconds == 2
    assert settings.lease_seconds == 6  # longer than any attempt
    defaults = WebhookSettings.from_config(WebhookConfig.from_env({}))
    assert defaults.retry.schedule == DEFAULT_SCHEDULE
    assert defaults.timeout_seconds == 15
    assert defaults.endpoint_concurrency == 4
    assert defaults.disable_after == dt.timedelta(days=3)
    assert defaults.address_policy.allowed_networks == ()


def test_retry_after_beyond_a_short_schedule_is_still_honoured() -> None:
    policy = RetryPolicy(schedule=(0.3, 0.6, 1.2), jitter=0)
    assert policy.next_attempt_at(1, START, retry_after=2) == START + dt.timedelta(seconds=2)
