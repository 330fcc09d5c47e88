"""Rate limits shared through PostgreSQL: two "replicas" (two pools, as two processes would
have) hammering the same key together never get more than the limit between them."""

from __future__ import annotations

import asyncio
import datetime as dt
import secrets
import time
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import asyncpg
import pytest
from clearway.resilience.ratelimit import (
    DailyQuota,
    TokenBucket,
    count_call,
    next_day_starts,
    take_token,
)

pytestmark = [pytest.mark.postgres]
ROMANIA = ZoneInfo("Europe/Bucharest")


if TYPE_CHECKING:
    Replicas = tuple[asyncpg.Pool[Any], asyncpg.Pool[Any]]


async def test_two_replicas_together_stay_within_one_bucket(replicas: Replicas) -> None:
    bucket = TokenBucket(f"test:{secrets.token_hex(4)}", capacity=5, per_second=10)
    granted: list[float] = []

    async def hammer(pool: asyncpg.Pool[Any], until: float) -> None:
        while time.monotonic() < until:
            async with pool.acquire() as conn:
                if await take_token(conn, bucket) == 0:
                    granted.append(time.monotonic())

    started = time.monotonic()
    until = started + 1.5
    await asyncio.gather(*(hammer(pool, until) for pool in replicas for _ in range(4)))
    elapsed = time.monotonic() - started
    # At most the burst plus what refilled meanwhile (+1 for the clock's edge).
    assert len(granted) <= 5 + 10 * elapsed + 1
    assert len(granted) >= 5 + 10 * 1.5 * 0.7  # and the limit is not starved either


async def test_a_refused_call_is_told_how_long_to_wait(replicas: Replicas) -> None:
    bucket = TokenBucket(f"test:{secrets.token_hex(4)}", capacity=2, per_second=4)
    async with replicas[0].acquire() as conn:
        assert await take_token(conn, bucket) == 0
        assert await take_token(conn, bucket) == 0
        wait = await take_token(conn, bucket)
    assert 0 < wait <= 0.26  # one token every 0.25 s


async def test_two_replicas_never_count_past_a_daily_quota(replicas: Replicas) -> None:
    quota = DailyQuota(f"test:{secrets.token_hex(4)}", limit=7, timezone=ROMANIA)
    now = dt.datetime.now(dt.UTC)

    async def call(pool: asyncpg.Pool[Any]) -> bool:
        async with pool.acquire() as conn:
            return await count_call(conn, quota, now)

    results = await asyncio.gather(*(call(pool) for pool in replicas for _ in range(15)))
    assert results.count(True) == 7


async def test_the_quota_day_is_the_governments_and_starts_again_at_its_midnight(
    replicas: Replicas,
) -> None:
    quota = DailyQuota(f"test:{secrets.token_hex(4)}", limit=1, timezone=ROMANIA)
    # 23:30 in Bucharest is still the same day there although 21:30 UTC; 00:10 is the next.
    late = dt.datetime(2026, 6, 1, 20, 30, tzinfo=dt.UTC)
    after_midnight = dt.datetime(2026, 6, 1, 21, 10, tzinfo=dt.UTC)
    async with replicas[1].acquire() as conn:
        assert await count_call(conn, quota, late)
        assert not await count_call(conn, quota, late)
        assert await count_call(conn, quota, after_midnight)
    assert next_day_starts(quota, late) == dt.datetime(2026, 6, 1, 21, 0, tzinfo=dt.UTC)
