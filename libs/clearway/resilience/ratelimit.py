"""Rate limits shared by every replica: a token bucket row, or a daily counter row, per key.

Each check is one atomic statement. Concurrent callers on the same key serialise on its row
lock (INSERT … ON CONFLICT DO UPDATE re-reads the latest row), so however many replicas ask,
the limit holds. Time is the database's (statement_timestamp()), the one clock every replica
shares.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from clearway.eventstore import Connection
from clearway.observability.metrics import DAILY_QUOTA_EXHAUSTED, RATE_LIMIT_WAIT


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
    granted = await conn.fetchval(
        """
        INSERT INTO rate_buckets AS b (key, tokens, refilled_at)
        VALUES ($1, $2 - 1, statement_timestamp())
        ON CONFLICT (key) DO UPDATE SET
            tokens = LEAST($2, b.tokens
                + EXTRACT(EPOCH FROM statement_timestamp() - b.refilled_at) * $3) - 1,
            refilled_at = statement_timestamp()
        WHERE LEAST($2, b.tokens
                + EXTRACT(EPOCH FROM statement_timestamp() - b.refilled_at) * $3) >= 1
        RETURNING true
        """,
        bucket.key,
        float(bucket.capacity),
        float(bucket.per_second),
    )
    if granted:
        RATE_LIMIT_WAIT.labels(limit_name(bucket.key)).observe(0.0)
        return 0.0
    available = await conn.fetchval(
        "SELECT LEAST($2, tokens + EXTRACT(EPOCH FROM statement_timestamp() - refilled_at) * $3) "
        "FROM rate_buckets WHERE key = $1",
        bucket.key,
        float(bucket.capacity),
        float(bucket.per_second),
    )
    missing = 1 - float(available if available is not None else 0)
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
    counted = await conn.fetchval(
        "INSERT INTO rate_counters AS c (key, day, count) VALUES ($1, $2, 1) "
        "ON CONFLICT (key, day) DO UPDATE SET count = c.count + 1 WHERE c.count < $3 "
        "RETURNING count",
        quota.key,
        quota_day(quota, now),
        quota.limit,
    )
    if counted is None:
        DAILY_QUOTA_EXHAUSTED.labels(limit_name(quota.key)).inc()
    return counted is not None


async def calls_left(conn: Connection, quota: DailyQuota, now: dt.datetime) -> int:
    """How many calls today's quota still has, counting nothing (for quotas counted only once
    the call was answered: see count_call)."""
    used = await conn.fetchval(
        "SELECT count FROM rate_counters WHERE key = $1 AND day = $2",
        quota.key,
        quota_day(quota, now),
    )
    left = quota.limit - int(used or 0)
    if left <= 0:
        DAILY_QUOTA_EXHAUSTED.labels(limit_name(quota.key)).inc()
    return max(left, 0)


async def forget_old_days(conn: Connection, before: dt.date) -> None:
    await conn.execute("DELETE FROM rate_counters WHERE day < $1", before)
