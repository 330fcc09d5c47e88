"""Rate limits shared by every replica: a token bucket row, or a daily counter row, per key
(clearway.store.ratelimits). Each check is one atomic statement, so however many replicas ask,
the limit holds.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from clearway.db import Connection
from clearway.observability.metrics import DAILY_QUOTA_EXHAUSTED, RATE_LIMIT_WAIT
from clearway.store import ratelimits as store


@dataclass(frozen=True)
class TokenBucket:
    """`capacity` calls at once, refilled at `per_second`.

    In any window of W seconds a bucket admits at most capacity + per_second·W calls; to stay
    under a sliding "N a minute" limit, choose capacity + 60·per_second ≤ N.
    """

    key: str
    capacity: float
    per_second: float


@dataclass(frozen=True)
class DailyQuota:
    """At most `limit` calls per calendar day in `timezone` (the government's day)."""

    key: str
    limit: int
    timezone: ZoneInfo


async def take_token(conn: Connection, bucket: TokenBucket) -> float:
    """Take one token: 0.0 when granted, else the seconds until one will be there."""
    capacity, per_second = float(bucket.capacity), float(bucket.per_second)
    if await store.take_from_bucket(conn, bucket.key, capacity=capacity, per_second=per_second):
        RATE_LIMIT_WAIT.labels(limit_name(bucket.key)).observe(0.0)
        return 0.0
    available = await store.tokens_in_bucket(
        conn, bucket.key, capacity=capacity, per_second=per_second
    )
    missing = 1 - available
    wait = max(missing, 0.0) / bucket.per_second + 0.001
    RATE_LIMIT_WAIT.labels(limit_name(bucket.key)).observe(wait)
    return wait


def limit_name(key: str) -> str:
    """ "anaf:calls:<url>" → "anaf:calls": the kind of limit, without whose limit it is."""
    return ":".join(key.split(":")[:2])


def quota_day(quota: DailyQuota, now: dt.datetime) -> dt.date:
    return now.astimezone(quota.timezone).date()


def next_day_starts(quota: DailyQuota, now: dt.datetime) -> dt.datetime:
    """When the quota's day after `now` begins (its midnight), as an aware datetime."""
    local = now.astimezone(quota.timezone)
    midnight = dt.datetime.combine(local.date() + dt.timedelta(days=1), dt.time(), quota.timezone)
    return midnight.astimezone(dt.UTC)


async def count_call(conn: Connection, quota: DailyQuota, now: dt.datetime) -> bool:
    """Count one call against today's quota; False (nothing counted) when it is used up."""
    counted = await store.count_if_below(conn, quota.key, quota_day(quota, now), quota.limit)
    if not counted:
        DAILY_QUOTA_EXHAUSTED.labels(limit_name(quota.key)).inc()
    return counted


async def calls_left(conn: Connection, quota: DailyQuota, now: dt.datetime) -> int:
    """How many calls today's quota still has, counting nothing (for quotas counted only once
    the call was answered: see count_call)."""
    left = quota.limit - await store.counted(conn, quota.key, quota_day(quota, now))
    if left <= 0:
        DAILY_QUOTA_EXHAUSTED.labels(limit_name(quota.key)).inc()
    return max(left, 0)


async def forget_old_days(conn: Connection, before: dt.date) -> None:
    await store.delete_counters_before(conn, before)
