"""What stands between one submitter and a government: a circuit breaker per endpoint (this
process's), the call limits (buckets and daily quotas shared by every replica) and the backoff
between uploads."""

from __future__ import annotations

import datetime as dt
import random
import time
from collections.abc import Sequence

import httpx

from clearway.config import Settings
from clearway.connectors import GovCall
from clearway.db import Connection
from clearway.resilience.backoff import Backoff
from clearway.resilience.breaker import Breakers
from clearway.resilience.ratelimit import (
    DailyQuota,
    TokenBucket,
    count_call,
    next_day_starts,
    take_token,
)


class HeldBackError(Exception):
    """A call may not go out yet (its endpoint's breaker is open, or a call limit or a daily
    quota is spent): nothing is sent, and the row is simply due again at `at`."""

    def __init__(self, at: dt.datetime, reason: str) -> None:
        super().__init__(reason)
        self.at = at
        self.reason = reason


def held_for(seconds: float, reason: str) -> HeldBackError:
    return HeldBackError(dt.datetime.now(dt.UTC) + dt.timedelta(seconds=seconds), reason)


async def _held_by_limits(
    conn: Connection, buckets: Sequence[TokenBucket], quota: DailyQuota | None
) -> HeldBackError | None:
    """Take a token from each bucket and count the call against the quota; what holds it back,
    if anything does."""
    for bucket in buckets:
        wait = await take_token(conn, bucket)
        if wait:
            return held_for(wait, f"call limit {bucket.key}")
    now = dt.datetime.now(dt.UTC)
    if quota is not None and not await count_call(conn, quota, now):
        return HeldBackError(next_day_starts(quota, now), f"daily quota {quota.key}")
    return None


class SubmissionGate:
    """One per machine (per mode), so each asks a breaker exactly once per call: in half-open,
    a second ask would refuse the very probe the first one let through, and the breaker would
    never close again."""

    def __init__(self, settings: Settings) -> None:
        # How long a claimed row is this worker's (WORK_LEASE_SECONDS): a crashed worker's rows,
        # uploads in flight included, are taken up again when it ends.
        self.lease = dt.timedelta(seconds=settings.work_lease_seconds)
        self._breakers = Breakers(reset_after=settings.breaker_reset_seconds)
        self._backoff = Backoff(
            base=settings.submit_retry_base,
            cap=settings.submit_retry_cap,
            max_attempts=settings.submit_max_attempts,
        )
        self._rng = random.Random()  # noqa: S311 - jitter, nothing secret

    async def may_call(
        self,
        conn: Connection,
        endpoint: str,
        *buckets: TokenBucket,
        quota: DailyQuota | None = None,
    ) -> None:
        """Raise HeldBackError unless a call to `endpoint` may go out now: its breaker lets it
        through, each bucket gives a token, and the daily quota (ANAF's) counts it. The breaker
        is asked first (an open one spends no shared token); held back by a limit after that,
        the call is given back to the breaker, so a half-open one lets the next caller probe."""
        breaker = self._breakers[endpoint]
        if not breaker.allow():
            wait = max(breaker.retry_at() - time.monotonic(), 0.5)
            raise held_for(wait, f"{endpoint}: circuit open")
        held = await _held_by_limits(conn, buckets, quota)
        if held is not None:
            breaker.release()
            raise held

    def settled(self, endpoint: str, calls: Sequence[GovCall], *, failed: bool) -> None:
        """Tell the endpoint's breaker how its last call went (a 429 is no failure)."""
        breaker = self._breakers[endpoint]
        if not failed:
            breaker.record_success()
        elif not (calls and calls[-1].http_status == httpx.codes.TOO_MANY_REQUESTS):
            breaker.record_failure()

    def next_upload_at(self, uploads: int, retry_after: float | None) -> dt.datetime | None:
        """When to upload again after `uploads` the government did not take; None after the
        last one."""
        if self._backoff.exhausted(uploads):
            return None
        return self._backoff.next_attempt_at(
            dt.datetime.now(dt.UTC), uploads, self._rng, retry_after=retry_after
        )
