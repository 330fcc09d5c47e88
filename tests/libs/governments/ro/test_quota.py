"""ANAF's per-message daily quotas, counted as ANAF counts them, in a real PostgreSQL: a call
ANAF did not take (429, 5xx, refused connection) or whose token it refused spends nothing; an
answered one, a refusal in ANAF's words or a lost answer spends one."""

from __future__ import annotations

import secrets
from typing import Any

import asyncpg
import pytest
from clearway.domain.ids import utcnow
from clearway.governments.ro.client import (
    AnafAuthError,
    AnafError,
    AnafOutcomeUnknownError,
    AnafRefusedError,
    AnafUnavailableError,
    download_quota,
)
from clearway.governments.ro.quota import counted_if_answered, quota_resets_at
from clearway.resilience.ratelimit import next_day_starts

pytestmark = [pytest.mark.postgres]


async def _fails(error: AnafError) -> bytes:
    raise error


async def _answers() -> bytes:
    return b"PK..."


async def _used(pool: asyncpg.Pool[Any], key: str) -> int:
    return int(
        await pool.fetchval("SELECT coalesce(sum(count), 0) FROM rate_counters WHERE key = $1", key)
    )


async def test_only_calls_anaf_answered_spend_a_download(store_db: asyncpg.Pool[Any]) -> None:
    quota = download_quota(str(secrets.randbelow(10**9)))
    async with store_db.acquire() as conn:
        for not_taken in (
            AnafUnavailableError("HTTP 429", retry_after=1),
            AnafUnavailableError("HTTP 503"),
            AnafAuthError("HTTP 401", status=401),
        ):
            with pytest.raises(type(not_taken)):
                await counted_if_answered(conn, quota, _fails(not_taken))
        assert await _used(store_db, quota.key) == 0

        assert await counted_if_answered(conn, quota, _answers()) == b"PK..."
        for answered in (AnafRefusedError("Nu aveti dreptul"), AnafOutcomeUnknownError("timeout")):
            with pytest.raises(type(answered)):
                await counted_if_answered(conn, quota, _fails(answered))
        assert await _used(store_db, quota.key) == 3


async def test_a_spent_quota_holds_the_call_until_the_romanian_midnight(
    store_db: asyncpg.Pool[Any],
) -> None:
    quota = download_quota(str(secrets.randbelow(10**9)))
    async with store_db.acquire() as conn:
        for _ in range(quota.limit - 1):
            await counted_if_answered(conn, quota, _answers())
        assert await quota_resets_at(conn, quota) is None  # one left
        await counted_if_answered(conn, quota, _answers())
        assert await quota_resets_at(conn, quota) == next_day_starts(quota, utcnow())
